"""Logs a warning a second after it starts; with QUIET set, first turns logging off as some bots do."""

import logging
import os
import time

if os.environ.get("QUIET"):
    logging.disable(logging.CRITICAL)
time.sleep(1.0)
logging.warning("still here")
