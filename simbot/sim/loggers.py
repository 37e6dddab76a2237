"""Named loggers are per process: their level, handlers, filters, ``propagate`` and ``disabled``.

``logging.getLogger("httpx")`` is one object in the interpreter. Without this, a bot that
quiets httpx (``setLevel(WARNING)``, as python-telegram-bot's examples do), a ``dictConfig``
that disables the loggers it finds, or a handler added to a library's logger would reach every
other simulated process and the next run in the same interpreter, and a run's trace would
depend on what ran before it.

While installed, those attributes (and the level cache derived from them) are data
descriptors on ``logging.Logger``: they read and write the active process's copy, made
from the logger's own state when the process first touches it (so a library's import-time
set-up is shared, as a library imported before ``fork`` would be). With no active process,
and for the root logger, whose handlers and level ``Isolation`` swaps itself, they are the
instance's own attributes, as without simbot.

A logger some simulated process created (``getLogger(__name__)`` in the bot) stays in the
interpreter's registry; in a fresh interpreter it would not exist before the process asks
for it. So when a process first asks for one, it gets it new: a ``dictConfig`` that ran
earlier in that process and disabled "existing" loggers has not disabled it.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

# every logger a simulated process created, in any run in this interpreter
_BORN_IN_A_PROCESS: weakref.WeakSet[logging.Logger] = weakref.WeakSet()


class ProcessLoggers:
    """One process's attributes of named loggers, and which loggers it has asked for."""

    def __init__(self) -> None:
        self.states: dict[logging.Logger, dict[str, Any]] = {}
        self.asked: set[logging.Logger] = set()

# attribute -> (how a process copies the logger's own value, the value a new Logger starts with)
_ATTRIBUTES: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]] = {
    "level": (lambda v: v, lambda: logging.NOTSET),
    "handlers": (list, list),
    "filters": (list, list),
    "propagate": (lambda v: v, lambda: True),
    "disabled": (lambda v: v, lambda: False),
    "_cache": (lambda v: {}, dict),  # isEnabledFor's answers, valid for one process's levels only
}


class _PerProcess:
    def __init__(self, name: str, states: Callable[[logging.Logger], dict[str, Any] | None]) -> None:
        self.name = name
        self.copy, self.fresh = _ATTRIBUTES[name]
        self.states = states

    def __get__(self, logger: logging.Logger | None, owner: type | None = None) -> Any:
        if logger is None:
            return self
        state = self.states(logger)
        if state is None:
            return logger.__dict__[self.name]
        try:
            return state[self.name]
        except KeyError:
            value = state[self.name] = self.copy(logger.__dict__[self.name])
            return value

    def __set__(self, logger: logging.Logger, value: Any) -> None:
        state = self.states(logger)
        if state is None:
            logger.__dict__[self.name] = value
            return
        state[self.name] = value
        # a logger created inside a process exists for the harness and later processes too, as new
        logger.__dict__.setdefault(self.name, self.fresh())


def install(active: Callable[[], ProcessLoggers | None]) -> Callable[[], None]:
    """Make the attributes per process; ``active()`` is the running process's loggers (None: the
    harness). Returns the function that puts ``logging.Logger`` back as it was."""
    root = logging.root

    def states(logger: logging.Logger) -> dict[str, Any] | None:
        process = active()
        if process is None or logger is root:
            return None
        try:
            return process.states[logger]
        except KeyError:
            state = process.states[logger] = {}
            return state

    real_get_logger = logging.Manager.getLogger

    def get_logger(manager: logging.Manager, name: str) -> logging.Logger:
        process = active()
        if process is None:
            return real_get_logger(manager, name)
        new = not isinstance(manager.loggerDict.get(name), logging.Logger)
        logger = real_get_logger(manager, name)
        if logger is not root and logger not in process.asked:
            process.asked.add(logger)
            if new:
                _BORN_IN_A_PROCESS.add(logger)  # its __init__ wrote this process's fresh state
            elif logger in _BORN_IN_A_PROCESS:
                process.states[logger] = {n: fresh() for n, (_, fresh) in _ATTRIBUTES.items()}
        return logger

    for name in _ATTRIBUTES:
        setattr(logging.Logger, name, _PerProcess(name, states))
    logging.Manager.getLogger = get_logger  # type: ignore[method-assign]

    def uninstall() -> None:
        for name in _ATTRIBUTES:
            delattr(logging.Logger, name)
        logging.Manager.getLogger = real_get_logger  # type: ignore[method-assign]

    return uninstall
