import atexit
import os
import sys
import time

atexit.register(print, "atexit ran")
time.sleep(1)
how = os.environ["HOW"]
if how == "sys.exit":
    sys.exit(3)
if how == "os._exit":
    os._exit(4)
if how == "message":
    sys.exit("bad config")
if how == "raise":
    raise LookupError("no such thing")
