"""Named loggers are per process: their level, handlers, filters, ``propagate`` and ``disabled``.

``logging.getLogger("httpx")`` is one object in the interpreter. Without this, a bot that
quiets httpx (``setLevel(WARNING)``, as python-telegram-bot's examples do), a ``dictConfig``
that disables the loggers it finds, or a handler added to a library's logger would reach every
other simulated process and the next run in the same interpreter, and a run's trace would
depend on what ran before it.

While installed, those attributes (and the level cache derived from them) are data
descriptors on ``logging.Logger``: they read and write the active process's copy, made
from the logger's own state when the process first touches it. With no active process, and
for the root logger, whose handlers and level ``Isolation`` swaps itself, they are the
instance's own attributes, as without simbot.

A library's import-time set-up is the library's, whichever process imported it first (an
installed package is imported once and shared, as code): a logger created, configured
(``setLevel``, ``addHandler``, ``addFilter``, …) or assigned to by the body of a module
outside the bot's project, urllib3's ``NullHandler`` say, is set up on the logger itself,
for every process, the harness and later runs.

A logger some simulated process created (``getLogger(__name__)`` in the bot) stays in the
interpreter's registry; in a fresh interpreter it would not exist before the process asks
for it. So when a process first asks for one, it gets it new: a ``dictConfig`` that ran
earlier in that process and disabled "existing" loggers has not disabled it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import weakref
from collections.abc import Callable, Iterator
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


_LOGGING = os.path.dirname(logging.__file__) + os.sep
_CONFIG_METHODS = ("setLevel", "addHandler", "removeHandler", "addFilter", "removeFilter")
_shared = [0]  # > 0 while a library's module body sets up its loggers: they are written as shared


def _library_setup(in_project: Callable[[str], bool]) -> bool:
    """Whether the code calling into logging is a module body outside the bot's project (an import)."""
    frame = sys._getframe(1)
    while frame is not None and (frame.f_code.co_filename.startswith(_LOGGING) or frame.f_code.co_filename == __file__):
        frame = frame.f_back  # type: ignore[assignment]
    return frame is not None and frame.f_code.co_name == "<module>" and not in_project(frame.f_code.co_filename)


@contextlib.contextmanager
def _as_shared() -> Iterator[None]:
    _shared[0] += 1
    try:
        yield
    finally:
        _shared[0] -= 1


class _PerProcess:
    def __init__(self, name: str, states: Callable[[logging.Logger], dict[str, Any] | None],
                 library: Callable[[], bool]) -> None:  # fmt: skip
        self.name = name
        self.copy, self.fresh = _ATTRIBUTES[name]
        self.states = states
        self.library = library

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
        if state is None or self.library():  # a library's module body: its set-up, for everyone
            logger.__dict__[self.name] = value
            if state is not None:
                state.pop(self.name, None)
            return
        state[self.name] = value
        # a logger created inside a process exists for the harness and later processes too, as new
        logger.__dict__.setdefault(self.name, self.fresh())


def install(active: Callable[[], ProcessLoggers | None], in_project: Callable[[str], bool]) -> Callable[[], None]:
    """Make the attributes per process; ``active()`` is the running process's loggers (None: the
    harness), ``in_project(filename)`` whether a file is the bot's own. Returns the function that
    puts ``logging.Logger`` back as it was."""
    root = logging.root

    def library() -> bool:
        return active() is not None and _library_setup(in_project)

    def states(logger: logging.Logger) -> dict[str, Any] | None:
        process = active()
        if process is None or logger is root or _shared[0]:
            return None
        try:
            return process.states[logger]
        except KeyError:
            state = process.states[logger] = {}
            return state

    real_get_logger = logging.Manager.getLogger

    def get_logger(manager: logging.Manager, name: str) -> logging.Logger:
        process = active()
        if process is None or _shared[0]:
            return real_get_logger(manager, name)
        if _library_setup(in_project):
            with _as_shared():  # created by a library's import: the library's logger, not the process's
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

    def configuring(real: Callable[..., Any]) -> Callable[..., Any]:
        def configure(logger: logging.Logger, *args: Any) -> Any:
            if active() is None or _shared[0] or not _library_setup(in_project):
                return real(logger, *args)
            with _as_shared():
                return real(logger, *args)

        return configure

    own = {name: logging.Logger.__dict__.get(name) for name in _CONFIG_METHODS}  # addFilter: Filterer's
    real_methods = {name: getattr(logging.Logger, name) for name in _CONFIG_METHODS}
    for name in _ATTRIBUTES:
        setattr(logging.Logger, name, _PerProcess(name, states, library))
    for name, real in real_methods.items():
        setattr(logging.Logger, name, configuring(real))
    logging.Manager.getLogger = get_logger  # type: ignore[method-assign]

    def uninstall() -> None:
        for name in _ATTRIBUTES:
            delattr(logging.Logger, name)
        for name, method in own.items():
            if method is None:
                delattr(logging.Logger, name)
            else:
                setattr(logging.Logger, name, method)
        logging.Manager.getLogger = real_get_logger  # type: ignore[method-assign]

    return uninstall
