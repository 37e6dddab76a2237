"""Logs through a library's logger; with QUIET, quiets that logger first (as PTB's examples quiet
httpx); with DICTCONFIG, configures logging the dictConfig way (which disables existing loggers)."""

import logging
import logging.config
import os
import time

logging.basicConfig(format="%(name)s %(levelname)s %(message)s", level=logging.INFO)
if os.environ.get("QUIET"):
    logging.getLogger("simbot_test.lib").setLevel(logging.WARNING)
if os.environ.get("DICTCONFIG"):
    logging.config.dictConfig({"version": 1, "root": {"level": "INFO"}})
logging.getLogger("simbot_test.own").addHandler(logging.StreamHandler())
time.sleep(1.0)
logging.getLogger("simbot_test.lib").info("from the library")
logging.getLogger("simbot_test.own").warning("from its own logger")
