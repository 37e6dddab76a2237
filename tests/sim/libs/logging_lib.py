"""Stands for an installed library that sets up its logger when imported (urllib3's NullHandler)."""

import logging

log = logging.getLogger("simbot_test.installed")
log.addHandler(logging.NullHandler())
log.setLevel(logging.INFO)
log.propagate = False


def warn() -> None:
    log.warning("from the library")
