"""Imports an installed library that sets up its logger at import, and prints what it sees of it."""

import time

import logging_lib

time.sleep(1.0)
log = logging_lib.log
print([type(h).__name__ for h in log.handlers], log.level, log.propagate)
