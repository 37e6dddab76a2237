"""Logs the same failure three times (one raise site), then another from a different line."""

import logging


def fail(n: int) -> None:
    raise RuntimeError(f"Conflict {n % 1}")


for i in range(3):
    try:
        fail(i)
    except RuntimeError:
        logging.exception("poll failed")
try:
    {}["missing"]
except KeyError:
    logging.exception("lookup failed")
