"""python-telegram-bot's errors, as the policies catch them; importable without python-telegram-bot.

The policies drive a PTB ``Application``, so they only ever run with PTB installed. simbot itself
must import in a project that has only aiogram: there these stand-ins are never raised by
anything, and ``require_ptb`` says what is missing before a policy is used.
"""

from __future__ import annotations

try:
    from telegram.error import Conflict, NetworkError, RetryAfter, TelegramError
except ModuleNotFoundError:  # only aiogram installed

    class TelegramError(Exception):  # type: ignore[no-redef]
        """Stand-in: python-telegram-bot is not installed."""

    class NetworkError(TelegramError):  # type: ignore[no-redef]
        """Stand-in: python-telegram-bot is not installed."""

    class Conflict(TelegramError):  # type: ignore[no-redef]
        """Stand-in: python-telegram-bot is not installed."""

    class RetryAfter(TelegramError):  # type: ignore[no-redef]
        """Stand-in: python-telegram-bot is not installed."""

        retry_after: float = 0.0


class FrameworkMissing(ValueError):
    """A bot framework the task needs is not installed: one line that says which and how to get it."""


def require_ptb(what: str) -> None:
    """Raise ``FrameworkMissing`` unless python-telegram-bot can be imported."""
    try:
        import telegram.ext  # noqa: F401
    except ModuleNotFoundError:
        raise FrameworkMissing(f"{what} runs a python-telegram-bot Application, and python-telegram-bot is not "
                               "installed (pip install 'python-telegram-bot>=22')") from None


def require_aiogram(what: str) -> None:
    """Raise ``FrameworkMissing`` unless aiogram 3 can be imported."""
    try:
        import aiogram  # noqa: F401
    except ModuleNotFoundError:
        raise FrameworkMissing(f"{what} runs an aiogram Dispatcher, and aiogram is not installed "
                               "(pip install 'aiogram>=3')") from None


__all__ = ["Conflict", "FrameworkMissing", "NetworkError", "RetryAfter", "TelegramError", "require_aiogram",
           "require_ptb"]
