"""Checkers: judge a trace afterwards, from the server's view (Jepsen-style)."""

from .checkers import Check, Violation
from .history import History
from .status import ERROR, FAIL, INCONCLUSIVE, PASS, STATUSES, Crash, Finding
from .verdict import CHECKS, Verdict, judge

__all__ = ["CHECKS", "ERROR", "FAIL", "INCONCLUSIVE", "PASS", "STATUSES", "Check", "Crash", "Finding", "History", "Verdict",
           "Violation", "judge"]
