import os

TOKEN = os.environ["NO_SUCH_VARIABLE"]
