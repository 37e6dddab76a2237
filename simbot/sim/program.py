"""The user's bot as it is written: a script, a module run with ``-m``, or a ``main`` function.

Each becomes an instance entry point (``async (InstanceContext) -> None``) that runs the
bot's own code in its simulated process (``greenproc``): its own ``__main__`` and copies
of the bot's project modules, environment, argv and pid (``isolation``, ``oslayer``), with
blocking calls (``run_polling``, ``asyncio.run``, ``time.sleep``) made cooperative on the
one virtual clock. The process ends as CPython ends: ``sys.exit(n)`` → n after its
``atexit`` handlers, an uncaught exception → its traceback on stderr and 1, an uncaught
KeyboardInterrupt → 130, ``os._exit(n)`` → n at once.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import inspect
import os
import runpy
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import greenlet

from .process import EntryPoint, InstanceContext, current
from .watchdog import Watchdog


def script(path: str, argv: Sequence[str] = ()) -> EntryPoint:
    """``python PATH ARGV…``: the file runs as ``__main__``; its directory is the project."""
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise ValueError(f"bot script {path!r}: no such file")
    try:
        with open(full, "rb") as source:
            compile(source.read(), full, "exec")
    except SyntaxError as exc:
        raise ValueError(f"bot script {path!r}: line {exc.lineno}: {exc.msg}") from None

    def run() -> None:
        runpy.run_path(full, run_name="__main__")

    return _entry(f"script {path}", os.path.dirname(full), [full, *argv], run)


def module(name: str, argv: Sequence[str] = ()) -> EntryPoint:
    """``python -m NAME ARGV…``: the module runs as ``__main__``; the working directory is the project."""
    root = os.getcwd()
    _find(name, root, f"bot module {name!r}")

    def run() -> None:
        runpy.run_module(name, run_name="__main__", alter_sys=True)

    return _entry(f"module {name}", root, [name, *argv], run)


def main(spec: str) -> EntryPoint:
    """``package.module:function``: a sync or async function without arguments, as ``main()`` is called."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"bot main {spec!r}: expected 'package.module:function'")
    root = os.getcwd()
    _find(module_name, root, f"bot main {spec!r}")

    def run() -> None:
        target: Any = importlib.import_module(module_name)  # fresh in this process: a project module
        for part in attribute.split("."):
            if not hasattr(target, part):
                raise AttributeError(f"module {module_name!r} has no attribute {attribute!r}")
            target = getattr(target, part)
        result = target()
        if inspect.iscoroutine(result):
            asyncio.run(result)

    return _entry(f"main {spec}", root, [module_name], run)


def _find(name: str, root: str, what: str) -> None:
    """The module exists (found the way ``-m`` finds it, the project first), without running it."""
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError) as exc:
        raise ValueError(f"{what}: cannot find {name!r} ({exc})") from None
    finally:
        if added:
            sys.path.remove(root)
    if found is None:
        raise ValueError(f"{what}: no module named {name!r} (searched {root} and the installed packages)")


def _entry(label: str, root: str, argv: list[str], run: Callable[[], None]) -> EntryPoint:
    async def entry(info: InstanceContext) -> None:
        instance = current.get()
        assert instance is not None and instance.process is not None, "program targets run as instances"
        process = instance.process
        process.simulation.isolation().add(instance, root, argv, info.env)
        process.entry_task = asyncio.current_task()
        process.handlers.setdefault(signal.SIGINT, signal.default_int_handler)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[object] = loop.create_future()
        g = process.spawn(lambda: _body(process, run, done), main=True)
        loop.call_soon(process.resume, g, context=instance.context)
        try:
            code = await done
        except asyncio.CancelledError:
            process.end()  # the instance exits or the run is over: its greenlets end now, in order
            raise
        if code not in (0, None):
            raise SystemExit(code)

    entry.__qualname__ = entry.__name__ = label
    return entry


def _body(process: Any, run: Callable[[], None], done: asyncio.Future[object]) -> None:
    """The process's main greenlet: the program, then its atexit handlers, then its exit status."""
    code: object = 0
    failure: BaseException | None = None
    try:
        run()
    except SystemExit as exc:
        code = exc.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)  # what CPython does with sys.exit("message")
            code = 1
    except (Watchdog, greenlet.GreenletExit):
        raise
    except KeyboardInterrupt:
        traceback.print_exc()
        code = 130
    except BaseException as exc:
        traceback.print_exc()  # to the process's stderr: its trace, not the harness's
        failure = exc
    process.run_atexit()
    if done.done():
        return
    if failure is not None:
        done.set_exception(failure)
    else:
        done.set_result(code)
