"""Checkers: judge a trace afterwards, from the server's view (Jepsen-style)."""

from .checkers import Check, Violation
from .history import History
from .verdict import CHECKS, Verdict, judge

__all__ = ["CHECKS", "Check", "History", "Verdict", "Violation", "judge"]
