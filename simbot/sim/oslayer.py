"""What a simulated process sees of its operating system: pid, signals, atexit, its event loop.

In place while a simulation runs. A call from an instance (its greenlet or one of its
callbacks) gets that process's answer; a call from the harness gets the real one, so
the run's own machinery is never affected:

- ``os.getpid``/``getppid``: the process's fake pid (1000 + its spawn index) and parent 1;
  ``os.kill(pid, sig)`` reaches the simulated process with that pid on the same host
  (another host's pid, or a dead one, is ``ProcessLookupError``, as ``kill`` says); sig 0 probes;
- ``signal.signal``/``getsignal``: the process's Python-level handlers (SIGALRM stays the
  watchdog's: the sandbox refuses it);
- ``atexit.register``/``unregister``: the process's list, run when it exits normally;
- the event loop policy: ``get_event_loop``/``new_event_loop``/``set_event_loop`` in a process
  give the shared virtual loop, with that process's own closed/unset state;
- ``asyncio.all_tasks``: only the calling process's tasks (``asyncio.run`` cancels what
  ``all_tasks`` lists at its end: never another instance's);
- ``os.urandom`` (and ``random.SystemRandom``, ``secrets``, ``uuid.uuid4``, which draw from it): bytes
  from the process's own PRNG, seeded by the run's seed and the process's pid, so a bot that draws
  a fresh webhook secret per start gets a different one per process and the same ones on every run;
- ``asyncio.set_event_loop_policy`` from a process (``uvloop.install()`` calls it) is noted as the
  process's and changes nothing else; ``uvloop.run`` and ``uvloop.new_event_loop`` run the
  process on the virtual loop (see ``uvloop_patched``): uvloop's C loop would read the real
  clock and real sockets, so the process runs on asyncio's loop, as it would without uvloop.
"""

from __future__ import annotations

import asyncio
import asyncio.tasks
import atexit
import errno
import os
import random
import signal
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from . import greenproc

_real_getpid = os.getpid
_real_getppid = os.getppid
_real_kill = os.kill
_real_urandom = os.urandom
_real_all_tasks = asyncio.tasks.all_tasks


def _default_disposition(signum: int) -> Any:
    return signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL


class _Policy(asyncio.DefaultEventLoopPolicy):
    """Every process's loop is the shared virtual loop; closing or unsetting it is the process's own."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop

    def get_event_loop(self) -> asyncio.AbstractEventLoop:
        g = greenproc.running()
        if g is not None and g.process.loop_unset:
            raise RuntimeError("There is no current event loop in thread 'MainThread'.")
        return self.loop if g is not None else super().get_event_loop()

    def set_event_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        g = greenproc.running()
        if g is None:
            super().set_event_loop(loop)
        else:
            g.process.loop_unset = loop is None

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        g = greenproc.running()
        if g is None:
            return super().new_event_loop()
        g.process.loop_closed = False  # a "new" loop: the process's view of the shared one reopens
        return self.loop


@contextmanager
def installed(simulation: Any) -> Iterator[None]:
    """Patch the OS surface for the duration of ``simulation``'s run."""
    real_signal, real_getsignal = signal.signal, signal.getsignal
    real_register, real_unregister = atexit.register, atexit.unregister

    def getpid() -> int:
        process = greenproc.current_process()
        return _real_getpid() if process is None else process.pid

    def getppid() -> int:
        process = greenproc.current_process()
        return _real_getppid() if process is None else process.ppid

    def kill(pid: int, sig: int) -> None:
        process = greenproc.current_process()
        if process is None:
            return _real_kill(pid, sig)
        target = next((i for i in simulation.instances if i.process is not None and i.process.pid == pid), None)
        if target is None or not target.alive or target.process.host != process.host:
            raise ProcessLookupError(errno.ESRCH, "No such process")
        if sig != 0:
            simulation.signal(target, sig)
        return None

    def set_handler(signum: int, handler: Any) -> Any:
        process = greenproc.current_process()
        if process is None or signum == signal.SIGALRM:
            return real_signal(signum, handler)
        if signum in (signal.SIGKILL, signal.SIGSTOP):
            raise OSError(errno.EINVAL, "Invalid argument")
        if not (callable(handler) or handler in (signal.SIG_IGN, signal.SIG_DFL)):
            raise TypeError("signal handler must be signal.SIG_IGN, signal.SIG_DFL, or a callable object")
        previous = process.handlers.get(signum, _default_disposition(signum))
        process.handlers[signum] = handler
        process.instance.signal_handlers.pop(signum, None)  # the later registration wins
        return previous

    def get_handler(signum: int) -> Any:
        process = greenproc.current_process()
        if process is None:
            return real_getsignal(signum)
        return process.handlers.get(signum, _default_disposition(signum))

    entropy: dict[int, random.Random] = {}  # pid -> that process's source of "random" bytes

    def urandom(size: int, /) -> bytes:
        process = greenproc.current_process()
        if process is None:
            return _real_urandom(size)
        if size < 0:
            raise ValueError("negative argument not allowed")
        rng = entropy.get(process.pid)
        if rng is None:
            rng = entropy[process.pid] = random.Random(f"{simulation.seed}:urandom:{process.pid}")
        return rng.randbytes(size)

    def register(func: Callable[..., object], /, *args: Any, **kwargs: Any) -> Callable[..., object]:
        process = greenproc.current_process()
        if process is None:
            return real_register(func, *args, **kwargs)
        process.atexit.append((func, args, kwargs))
        return func

    def unregister(func: Callable[..., object], /) -> None:
        process = greenproc.current_process()
        if process is None:
            return real_unregister(func)
        process.atexit[:] = [entry for entry in process.atexit if entry[0] != func]
        return None

    def all_tasks(loop: asyncio.AbstractEventLoop | None = None) -> set[asyncio.Task[Any]]:
        tasks = _real_all_tasks(loop)
        process = greenproc.current_process()
        if process is None:
            return tasks
        owned = process.instance.tasks
        return {t for t in tasks if t in owned and t is not process.entry_task}

    real_set_policy = asyncio.events.set_event_loop_policy

    def set_policy(policy: asyncio.AbstractEventLoopPolicy | None) -> None:
        process = greenproc.current_process()
        if process is None:
            return real_set_policy(policy)
        process.loop_policy = policy  # the process's choice; its loops stay the virtual one
        return None

    previous_policy = asyncio.get_event_loop_policy()
    with ExitStack() as stack:
        for owner, name, value in (
            (os, "getpid", getpid), (os, "getppid", getppid), (os, "kill", kill),
            (os, "urandom", urandom), (random, "_urandom", urandom),
            (signal, "signal", set_handler), (signal, "getsignal", get_handler),
            (atexit, "register", register), (atexit, "unregister", unregister),
            (asyncio.tasks, "all_tasks", all_tasks), (asyncio, "all_tasks", all_tasks),
        ):  # fmt: skip
            stack.enter_context(_replaced(owner, name, value))
        real_set_policy(_Policy(simulation.loop))
        stack.callback(real_set_policy, previous_policy)
        stack.enter_context(_replaced(asyncio.events, "set_event_loop_policy", set_policy))
        stack.enter_context(_replaced(asyncio, "set_event_loop_policy", set_policy))
        stack.callback(uvloop_restored)
        uvloop_patched()
        yield


_uvloop_saved: dict[str, Any] = {}


def uvloop_patched() -> None:
    """Once uvloop is imported (now, or later by a bot): its ``run``/``new_event_loop`` use the
    virtual loop when a process calls them. ``uvloop.run`` checks that its loop is a uvloop
    ``Loop``; a process gets ``asyncio.run`` instead, with the same arguments."""
    import sys

    module = sys.modules.get("uvloop")
    if module is None or _uvloop_saved:
        return
    real_run, real_new = module.run, module.new_event_loop

    def run(main: Any, *, loop_factory: Any = None, debug: bool | None = None, **kwargs: Any) -> Any:
        if greenproc.current_process() is None:
            return real_run(main, debug=debug, **kwargs, **({"loop_factory": loop_factory} if loop_factory else {}))
        return asyncio.run(main, debug=debug)

    def new_event_loop() -> Any:
        return real_new() if greenproc.current_process() is None else asyncio.new_event_loop()

    _uvloop_saved.update(run=real_run, new_event_loop=real_new)
    module.run, module.new_event_loop = run, new_event_loop


def uvloop_restored() -> None:
    import sys

    module = sys.modules.get("uvloop")
    if module is not None and _uvloop_saved:
        module.run, module.new_event_loop = _uvloop_saved["run"], _uvloop_saved["new_event_loop"]
    _uvloop_saved.clear()


@contextmanager
def _replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    real = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, real)
