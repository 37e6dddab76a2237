"""A process is a process: its own ``__main__``, project modules, environment, argv and output.

Instances share one interpreter, so what a process would own alone lives in a ``View``
that is swapped in when the running owner changes (the loop calls ``switch_to`` before
each instance callback; a greenlet switch always happens inside one). Swapping compares
the owner with the last one and does nothing when it is the same; a run without program
targets never installs any of this.

- modules: every module imported *from the bot's project directory* (never the standard
  library, an installed package, a virtualenv or simbot itself) is imported afresh by each
  process and kept in its view: a module-level ``Dispatcher``, ``Router`` or counter is
  per process, as it is in production; ``__main__`` is per process too;
- ``os.environ``: its data dict is the view's (the harness's environment plus the
  instance's), so ``os.environ[...]``, ``os.getenv`` and ``from os import environ`` all see
  it; ``putenv``/``unsetenv`` never reach the real process;
- ``sys.argv`` and ``sys.path`` (the project directory first, as ``python bot.py`` and ``-m`` do).

``Output`` is separate: a stream proxy, installed for every run, that sends an instance's
``print`` and log-handler output to its trace (bounded) instead of the harness's streams.
"""

from __future__ import annotations

import importlib.machinery
import logging
import os
import sys
import sysconfig
import types
from collections.abc import Sequence
from typing import Any

from . import loggers, where
from . import loop as loop_module
from .process import Instance

_EXCLUDED = tuple(
    os.path.realpath(p) + os.sep
    for p in {
        sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"],
        sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    }
)
_FAKE = os.path.dirname(os.path.abspath(importlib.util.find_spec("fake_telegram").origin or "")) + os.sep  # type: ignore[union-attr]
OUTPUT_HEAD, OUTPUT_TAIL = 150, 50  # lines kept per instance: its first and its last; one event counts the rest


def in_project(origin: str | None, root: str) -> bool:
    """A module file the bot's project owns: under ``root`` and not a library, a venv or simbot."""
    if not origin or not os.path.isabs(origin):
        return False
    path = os.path.realpath(origin)
    if not path.startswith(root):
        return False
    if path.startswith(_EXCLUDED) or path.startswith(_FAKE):
        return False
    return f"{os.sep}site-packages{os.sep}" not in path and f"{os.sep}dist-packages{os.sep}" not in path


class View:
    """One process's share of the interpreter."""

    def __init__(self, root: str, argv: Sequence[str], environ: dict[bytes, bytes], path: list[str]) -> None:
        self.root = os.path.realpath(root) + os.sep
        self.argv = list(argv)
        self.environ = environ
        self.path = path
        self.modules: dict[str, types.ModuleType] = {"__main__": types.ModuleType("__main__")}
        # the root logger as a fresh interpreter has it: the bot's own basicConfig takes effect
        self.log_handlers: list[logging.Handler] = []
        self.log_level = logging.WARNING
        self.log_disabled = 0  # logging.disable's level: the logging manager's, so per process too
        self.loggers = loggers.ProcessLoggers()  # named loggers' levels, handlers, ... (sim/loggers.py)


class Isolation:
    """The run's views and the machinery that swaps them; ``install`` once, ``uninstall`` at the end."""

    def __init__(self) -> None:
        self.views: dict[Instance, View] = {}
        self.active: View | None = None
        self.names: set[str] = {"__main__"}  # every module name some view owns
        self.harness_modules: dict[str, types.ModuleType] = {}
        self._harness_environ: dict[bytes, bytes] = os.environ._data  # type: ignore[attr-defined]
        self._harness_argv = sys.argv
        self._harness_path = sys.path
        self._root_logger = (logging.root.level, logging.root.handlers, logging.root.manager.disable)
        self.on_log_record: Any = None  # a process's records also reach the trace (Simulation's handler)
        self.after_import: dict[str, Any] = {}  # module name -> called once a process has imported it
        self._finder = _ProjectFinder(self)
        self._saved: list[tuple[Any, str, Any]] = []
        self._previous_hook: Any = None
        self._restore_loggers: Any = None

    def install(self) -> None:
        self.harness_modules["__main__"] = sys.modules["__main__"]
        sys.meta_path.insert(0, self._finder)
        for owner, name, value in ((os, "putenv", self._putenv), (os, "unsetenv", self._unsetenv)):
            self._saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, value)
        self._previous_hook = loop_module.watch_owners(self.switch_to_owner)
        call_handlers = logging.Logger.callHandlers
        self._saved.append((logging.Logger, "callHandlers", call_handlers))
        isolation = self

        def also_to_the_trace(logger: logging.Logger, record: logging.LogRecord) -> None:
            call_handlers(logger, record)
            if isolation.active is not None and isolation.on_log_record is not None:
                isolation.on_log_record(record)

        logging.Logger.callHandlers = also_to_the_trace  # type: ignore[method-assign]
        self._restore_loggers = loggers.install(lambda: self.active.loggers if self.active is not None else None,
                                                lambda filename: self.active is not None
                                                and in_project(filename, self.active.root))  # fmt: skip
        self._saved.append((logging.Formatter, "formatException", logging.Formatter.formatException))
        logging.Formatter.formatException = _formatted_once(logging.Formatter.formatException)  # type: ignore[method-assign]

    def uninstall(self) -> None:
        self.switch_to(None)
        loop_module.watch_owners(self._previous_hook)
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        while self._saved:
            owner, name, real = self._saved.pop()
            setattr(owner, name, real)
        if self._restore_loggers is not None:
            self._restore_loggers()
            self._restore_loggers = None
        level, handlers, disabled = self._root_logger  # switch_to(None) above put them back; this is for safety
        logging.root.handlers = handlers
        if logging.root.manager.disable != disabled:
            logging.disable(disabled)
        if logging.root.level != level:
            logging.root.setLevel(level)

    def add(self, instance: Instance, root: str, argv: Sequence[str], env: dict[str, str]) -> View:
        encode_key, encode_value = os.environ.encodekey, os.environ.encodevalue  # type: ignore[attr-defined]
        environ = dict(self._harness_environ)
        environ.update((encode_key(k), encode_value(v)) for k, v in env.items())
        real_root = os.path.realpath(root)
        path = [real_root, *(p for p in self._harness_path if p not in ("", real_root))]
        view = View(root, argv, environ, path)
        self.views[instance] = view
        where.add_project(view.root)
        where.add_project(os.path.abspath(root) + os.sep)
        return view

    def switch_to_owner(self, owner: Instance) -> None:
        view = self.views.get(owner)
        if view is not self.active:
            self.switch_to(view)

    def switch_to(self, view: View | None) -> None:
        """Take the outgoing owner's modules out of ``sys.modules`` and put the incoming one's in."""
        if view is self.active:
            return
        outgoing = self.active.modules if self.active is not None else self.harness_modules
        modules = sys.modules
        for name in self.names:
            module = modules.pop(name, None)
            if module is None:
                outgoing.pop(name, None)
            else:
                outgoing[name] = module
        modules.update(view.modules if view is not None else self.harness_modules)
        os.environ._data = view.environ if view is not None else self._harness_environ  # type: ignore[attr-defined]
        sys.argv = view.argv if view is not None else self._harness_argv
        sys.path = view.path if view is not None else self._harness_path
        self._swap_root_logger(self.active, view)
        self.active = view

    def _swap_root_logger(self, outgoing: View | None, incoming: View | None) -> None:
        """Each process configures its own root logger (handlers, level, ``logging.disable``); the
        harness keeps its own."""
        root, manager = logging.root, logging.root.manager
        if outgoing is not None:
            outgoing.log_handlers, outgoing.log_level, outgoing.log_disabled = root.handlers, root.level, manager.disable
        else:
            self._root_logger = (root.level, root.handlers, manager.disable)
        level, handlers, disabled = ((incoming.log_level, incoming.log_handlers, incoming.log_disabled)
                                     if incoming is not None else self._root_logger)  # fmt: skip
        root.handlers = handlers
        if manager.disable != disabled or root.level != level:
            # named loggers' caches are per process (sim/loggers.py), each valid for its own levels
            manager.disable = disabled
            root.level = level
            root._cache.clear()  # type: ignore[attr-defined]

    def _putenv(self, key: Any, value: Any) -> None:
        if self.active is None:
            self._saved[0][2](key, value)

    def _unsetenv(self, key: Any) -> None:
        if self.active is None:
            self._saved[1][2](key)


def _formatted_once(format_exception: Any) -> Any:
    """``Formatter.formatException`` that formats each distinct traceback once per run.

    A bot that loses the poll logs the same Conflict traceback at every 409, and formatting one
    (source lines, 3.11's ``^^^`` anchors) costs more than the request that caused it. The key
    holds everything the text depends on, so the text is the same as formatting it again."""
    texts: dict[tuple[Any, ...], str] = {}

    def format_exception_once(formatter: logging.Formatter, ei: Any) -> str:
        key = _traceback_key(ei)
        if key is None:
            return format_exception(formatter, ei)  # type: ignore[no-any-return]
        text = texts.get(key)
        if text is None:
            text = texts[key] = format_exception(formatter, ei)
        return text

    return format_exception_once


def _traceback_key(ei: Any) -> tuple[Any, ...] | None:
    """What ``traceback.print_exception`` prints, as a key: each exception of the chain (type, text,
    notes, frames as code and instruction) and how they are chained; None when unsure (groups)."""
    try:
        exc, tb = ei[1], ei[2]
        chain: list[tuple[Any, ...]] = []
        seen: set[int] = set()
        while exc is not None and id(exc) not in seen:
            if isinstance(exc, BaseExceptionGroup) or len(chain) > 30:
                return None
            seen.add(id(exc))
            frames = []
            while tb is not None:
                frames.append((tb.tb_frame.f_code, tb.tb_lasti, tb.tb_lineno))
                tb = tb.tb_next
            notes = tuple(str(note) for note in getattr(exc, "__notes__", None) or ())
            chain.append((type(exc), str(exc), notes, tuple(frames), exc.__cause__ is not None, exc.__suppress_context__))
            exc = exc.__cause__ if exc.__cause__ is not None else None if exc.__suppress_context__ else exc.__context__
            tb = exc.__traceback__ if exc is not None else None
        return tuple(chain)
    except Exception:
        return None


class _ProjectFinder:
    """Notes each module a process imports from its project, so the next swap keeps it as the process's."""

    def __init__(self, isolation: Isolation) -> None:
        self.isolation = isolation

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        view = self.isolation.active
        if view is None:
            return None
        if name in self.isolation.after_import:
            return self._hooked(name, path)
        if name in self.isolation.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and in_project(spec.origin, view.root):
            self.isolation.names.add(name)
        return None  # the usual finders import it; only the bookkeeping is ours

    def _hooked(self, name: str, path: Any) -> Any:
        """The module's spec, with a callback run once it has executed (aiogram's session patch)."""
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        loader, then = spec.loader, self.isolation.after_import[name]

        class _Then:
            def create_module(self, spec: Any) -> Any:
                return loader.create_module(spec)

            def exec_module(self, module: Any) -> None:
                loader.exec_module(module)  # type: ignore[union-attr]
                then()

        spec.loader = _Then()  # type: ignore[assignment]
        return spec

    def invalidate_caches(self) -> None:
        return None


class Output:
    """``sys.stdout``/``sys.stderr`` for the run: an instance's writes become ``output`` trace events."""

    def __init__(self, simulation: Any, stream: str, real: Any) -> None:
        self.simulation = simulation
        self.stream = stream
        self.real = real
        self.partial: dict[Instance, str] = {}

    def write(self, text: str) -> int:
        from .process import current

        instance = current.get()
        if instance is None:
            return self.real.write(text)
        if self.simulation.finished:  # simbot tearing the processes down after the horizon: not the run's
            return len(text)
        complete, newline, rest = (self.partial.get(instance, "") + text).rpartition("\n")
        if newline:
            self.simulation.record_output(instance, self.stream, complete)
        self.partial[instance] = rest
        return len(text)

    def flush_partial(self) -> None:
        for instance, rest in self.partial.items():
            if rest:
                self.simulation.record_output(instance, self.stream, rest)
        self.partial.clear()

    def flush(self) -> None:
        return None

    def writelines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.write(line)

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.real.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self.real, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)
