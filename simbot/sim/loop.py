"""Virtual time for asyncio: a loop whose clock jumps to the next timer when idle.

The clock is an integer count of microseconds, so no float drift can change the
order of near-simultaneous events between runs. When nothing is ready, ``select``
polls real I/O with a zero timeout and then moves the clock to the earliest timer
instead of sleeping; with no timer at all, nothing can ever wake up again, and the
run ends with ``Deadlock`` rather than hanging. (docs/virtual-time.md says why this
and not looptime or async-solipsism.)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import errno
import heapq
import math
import selectors
import socket
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from . import connections, greenproc, where
from .process import Instance, current
from .schedule import Picker, Schedule
from .servers import PortTable, machine_of_caller
from .sockets import SocketTable
from .watchdog import Unwinder, Watchdog

T = TypeVar("T")
MICROS = 1_000_000


class Deadlock(RuntimeError):
    """Every task waits on something that no timer and no I/O can ever resolve."""


class HorizonReached(RuntimeError):
    """Virtual time passed the run's end of time."""


class StepLimit(RuntimeError):
    """The loop ran more iterations than the run allows."""


@dataclass(frozen=True)
class Finding:
    """Something real the bot under test did inside a simulation (a socket, a thread, a sleep)."""

    at: float
    instance: str
    what: str
    where: str  # the bot's own stack line that did it


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self, *, horizon: float | None = None, max_steps: int | None = None,
                 schedule: Schedule | None = None) -> None:  # fmt: skip
        super().__init__(selectors.SelectSelector())
        self.picker: Picker | None = None if schedule is None else schedule.picker()  # None: FIFO, at no cost
        self.findings: list[Finding] = []
        self.ports = PortTable()
        self.sockets = SocketTable(self)
        self.set_task_factory(_adopting_task)
        self._micros = 0
        self._clock_resolution = 0.1 / MICROS  # timers within float noise of now are due now
        self.horizon_micros = None if horizon is None else round(horizon * MICROS)
        self.max_steps = max_steps
        self.steps = 0
        real_select = self._selector.select
        registered = self._selector._fd_to_key  # type: ignore[attr-defined]

        def select(timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            self.steps += 1
            if self.max_steps is not None and self.steps > self.max_steps:
                raise StepLimit(f"more than {self.max_steps} loop steps")
            # Only the loop's own self-pipe is registered unless something opened real I/O;
            # the pipe just wakes a sleeping loop, and this one never sleeps: skip the syscall.
            events = real_select(0) if len(registered) > 1 else []
            if not events and timeout != 0:
                if timeout is None:
                    raise Deadlock(f"nothing left to run at t={self.time():.6f}s: every task waits forever")
                self.advance_to(self._scheduled[0].when())
            if self.picker is not None:
                self._order_batch(self.picker)
            return events

        self._selector.select = select  # type: ignore[method-assign]

    def time(self) -> float:
        return self._micros / MICROS

    def _order_batch(self, picker: Picker) -> None:
        """Let the schedule order the coming batch. The due timers join ``_ready`` here, as
        ``_run_once`` would right after ``select`` (the same test, so nothing else changes), so that
        the whole batch is known: only its order differs, never what runs in this iteration."""
        end = self._micros / MICROS + self._clock_resolution
        scheduled, ready = self._scheduled, self._ready
        while scheduled and scheduled[0]._when < end:
            timer = heapq.heappop(scheduled)
            timer._scheduled = False
            ready.append(timer)
        if len(ready) > 1:
            picker.order(ready)

    # -- every callback belongs to an instance (or to nobody) ----------------------

    def call_soon(self, callback: Callable[..., object], *args: Any, context: contextvars.Context | None = None):  # type: ignore[override]
        if context is None:
            context = contextvars.copy_context()
        owner = context.get(current)
        self._check_closed()  # what BaseEventLoop.call_soon does, with a handle that knows its instance
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_soon")
        if owner is None:
            handle = asyncio.Handle(callback, args, self, context)
        else:
            handle = _GatedHandle(owner, callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any, context: contextvars.Context | None = None):  # type: ignore[override]
        """A positive delay ends at least one tick later: on a real clock time passes, and
        ``while left > 0: await asyncio.sleep(left)`` must not spin on a sub-tick ``left``."""
        if delay > 0:
            ticks = max(1, math.ceil(delay * MICROS - 1e-3))
            return self.call_at((self._micros + ticks) / MICROS, callback, *args, context=context)
        return super().call_later(delay, callback, *args, context=context)

    def call_at(self, when: float, callback: Callable[..., object], *args: Any, context: contextvars.Context | None = None):  # type: ignore[override]
        if context is None:
            context = contextvars.copy_context()
        owner = context.get(current)
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()  # what BaseEventLoop.call_at does, with a handle that knows its instance
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        if owner is None:
            timer = asyncio.TimerHandle(when, callback, args, self, context)
        else:
            timer = _GatedTimer(owner, when, callback, args, self, context)
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer

    # -- signals go to the instance that registered them ------------------------------

    def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: Any) -> None:
        owner = current.get()
        if owner is None:
            raise RuntimeError("simbot: only a simulated instance may register signal handlers")
        owner.signal_handlers[sig] = (callback, args)
        if owner.process is not None:
            owner.process.handlers.pop(sig, None)  # the later registration wins, as in CPython

    def remove_signal_handler(self, sig: int) -> bool:
        owner = current.get()
        return owner is not None and owner.signal_handlers.pop(sig, None) is not None

    # -- nothing real inside a simulation ------------------------------------------

    def report(self, what: str) -> Finding:
        owner = current.get()
        finding = Finding(self.time(), owner.name if owner else "harness", where.scrub(what), _caller_line())
        self.findings.append(finding)
        return finding

    def run_in_executor(self, executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """An instance's executor call (the default pool or a ThreadPoolExecutor, as aiogram runs sync
        filters and ``asyncio.to_thread`` runs anything) runs in a fresh greenlet of its process:
        deterministic, and cooperative if it blocks. The harness has no executor."""
        process = greenproc.current_process() if executor is None or isinstance(executor, ThreadPoolExecutor) else None
        if process is None:
            finding = self.report(f"thread pool call {getattr(func, '__qualname__', func)!r}")
            raise RuntimeError(f"simbot: threads are not allowed in a simulation ({finding.where})")
        return process.call_in_greenlet(func, args)

    # -- a process's own view of "its" loop (the shared one) ----------------------------

    def run_until_complete(self, future: Any) -> Any:
        g = greenproc.running()
        if g is None:
            return super().run_until_complete(future)
        process = g.process
        if process.loop_closed:
            raise RuntimeError("Event loop is closed")
        return process.in_loop(asyncio.ensure_future(future, loop=self))

    def run_forever(self) -> None:
        g = greenproc.running()
        if g is None:
            return super().run_forever()
        process = g.process
        if process.loop_closed:
            raise RuntimeError("Event loop is closed")
        if process.forever is not None:
            raise RuntimeError("This event loop is already running")
        if process.stop_pending:  # stop() before run_forever(): one pass, then return
            process.stop_pending = False
            return None
        process.forever = self.create_future()
        try:
            process.in_loop(process.forever)
        finally:
            process.forever = None
        return None

    def stop(self) -> None:
        process = greenproc.current_process()
        if process is None:
            return super().stop()
        if process.forever is not None and not process.forever.done():
            process.forever.set_result(None)
        elif process.forever is None:
            process.stop_pending = True
        return None

    def close(self) -> None:
        process = greenproc.current_process()
        if process is None:
            self.sockets.close_all()
            return super().close()
        process.loop_closed = True  # only its own view: the shared loop runs on for everyone else
        return None

    def is_closed(self) -> bool:
        if super().is_closed():
            return True  # the run is over (and at interpreter exit no greenlet may be asked)
        process = greenproc.current_process()
        return process is not None and process.loop_closed

    async def shutdown_asyncgens(self) -> None:
        if greenproc.current_process() is None:
            await super().shutdown_asyncgens()

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        if greenproc.current_process() is None:
            await super().shutdown_default_executor()

    # A virtual socket (sockets.py) is ready when the run says so; a real descriptor asks the selector.
    def add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        virtual = self.sockets.of(fd)
        if virtual is None:
            return super().add_reader(fd, callback, *args)
        virtual.watch("r", callback, args)

    def remove_reader(self, fd: Any) -> bool:
        virtual = self.sockets.of(fd)
        return super().remove_reader(fd) if virtual is None else virtual.unwatch("r")

    def add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        virtual = self.sockets.of(fd)
        if virtual is None:
            return super().add_writer(fd, callback, *args)
        virtual.watch("w", callback, args)

    def remove_writer(self, fd: Any) -> bool:
        virtual = self.sockets.of(fd)
        return super().remove_writer(fd) if virtual is None else virtual.unwatch("w")

    async def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        """The run's own names (``localhost``, a service's ``redis``) resolve to its virtual addresses;
        any other name is a lookup on the real network: refused."""
        address = self.ports.resolve(host) if isinstance(host, str) else None
        if address is None:
            finding = self.report(f"name lookup {host}:{port}")
            raise OSError(f"simbot: no real network in a simulation ({finding.where})")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]

    async def create_connection(self, protocol_factory: Any, host: Any = None, port: Any = None, *args: Any, **kwargs: Any) -> Any:
        """A virtual connection (connections.py) to a port a server of the run holds on the caller's own
        machine (``localhost``) or on a service's (``redis``): refused as the kernel refuses when nobody
        listens there. Any other host, TLS, or a socket of the caller's own is the real network: refused."""
        port = int(port) if isinstance(port, str) and port.isdigit() else port  # a service name ("http") is not
        machine = self.ports.machine_of(host) if isinstance(host, str) and not args else None
        if machine is None or kwargs.get("ssl") or kwargs.get("sock") is not None or not isinstance(port, int):
            finding = self.report(f"connection to {host}:{port}")
            raise OSError(f"simbot: no real network in a simulation ({finding.where})")
        server = self.ports.listening((machine, port))
        if server is None:
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"Connect call failed ({host!r}, {port})")
        own = machine_of_caller()
        loopback = machine == own
        local = ("127.0.0.1" if loopback else self.ports.address(own), self.ports.ephemeral(own))
        remote = ("127.0.0.1" if loopback else server.address, port)
        transport, made = connections.connect(self, protocol_factory, server, local, remote)
        await made
        return transport, transport.get_protocol()

    async def sock_connect(self, sock: Any, address: Any) -> None:
        finding = self.report(f"socket connect to {address}")
        raise OSError(f"simbot: no real network in a simulation ({finding.where})")

    async def create_datagram_endpoint(self, protocol_factory: Any, local_addr: Any = None, remote_addr: Any = None,
                                       *args: Any, **kwargs: Any) -> Any:  # fmt: skip
        finding = self.report(f"datagram endpoint {remote_addr or local_addr}")
        raise OSError(f"simbot: no real network in a simulation ({finding.where})")

    async def create_server(self, protocol_factory: Any, host: Any = None, port: Any = None, *args: Any,
                            **kwargs: Any) -> Any:  # fmt: skip
        """A port held on the process's host while it lives (servers.py): no real socket; the run's own
        processes connect to it (``create_connection``), and so does a web platform's edge (webhook POSTs)."""
        return self.ports.bind(self, host if isinstance(host, str) or host is None else str(host), port, protocol_factory)

    async def create_unix_connection(self, protocol_factory: Any, path: Any = None, *args: Any, **kwargs: Any) -> Any:
        finding = self.report(f"connection to {path}")
        raise OSError(f"simbot: no real network in a simulation ({finding.where})")

    async def subprocess_exec(self, protocol_factory: Any, program: Any, *args: Any, **kwargs: Any) -> Any:
        finding = self.report(f"process {' '.join(map(str, (program, *args)))}")
        raise PermissionError(f"simbot: no real processes in a simulation ({finding.where})")

    async def subprocess_shell(self, protocol_factory: Any, cmd: Any, **kwargs: Any) -> Any:
        finding = self.report(f"process {cmd}")
        raise PermissionError(f"simbot: no real processes in a simulation ({finding.where})")

    @property
    def micros(self) -> int:
        return self._micros

    def advance_to(self, when: float) -> None:
        """Jump the clock forward (never back) to ``when`` seconds, rounded up to a microsecond."""
        target = max(self._micros, math.ceil(when * MICROS - 1e-3))
        if self.horizon_micros is not None and target > self.horizon_micros:
            self._micros = self.horizon_micros
            raise HorizonReached(f"virtual time reached the horizon t={self.time():.6f}s")
        self._micros = target


class _GatedHandle(asyncio.Handle):
    """An instance's callback: dropped once it is dead (SIGKILL), held while it is paused (SIGSTOP)."""

    __slots__ = ("_owner",)

    def __init__(self, owner: Instance, callback: Callable[..., object], args: tuple[Any, ...],
                 loop: asyncio.AbstractEventLoop, context: contextvars.Context) -> None:  # fmt: skip
        super().__init__(callback, args, loop, context)
        self._owner = owner

    def _run(self) -> None:
        _run_gated(self, self._owner)


class _GatedTimer(asyncio.TimerHandle):
    __slots__ = ("_owner",)

    def __init__(self, owner: Instance, when: float, callback: Callable[..., object], args: tuple[Any, ...],
                 loop: asyncio.AbstractEventLoop, context: contextvars.Context) -> None:  # fmt: skip
        super().__init__(when, callback, args, loop, context)
        self._owner = owner

    def _run(self) -> None:
        _run_gated(self, self._owner)


def _run_gated(handle: asyncio.Handle, owner: Instance) -> None:
    """Run an instance's callback unless it is dead (dropped) or paused (held); exits end the instance."""
    if owner.dead:
        return
    if owner.paused:
        owner.held.append((handle._callback, handle._args, handle._context))  # type: ignore[attr-defined]
        return
    if _owner_hook is not None:
        _owner_hook(owner)
    try:
        asyncio.Handle._run(handle)  # asyncio's own: reports a callback's exception to the loop
    except SystemExit as exc:
        Unwinder.stop()  # an os._exit in the instance has unwound to here
        if owner.process is None or not owner.process.absorb(exc):
            owner.exit(_exit_code(exc.code))
    except Watchdog:
        raise
    except KeyboardInterrupt as exc:
        if owner.process is None or not owner.process.absorb(exc):
            owner.exit(130)


# Called with the owner before each instance callback while a run has isolated processes
# (isolation swaps their modules, environment and argv in); None otherwise, at no cost.
_owner_hook: Callable[[Instance], None] | None = None


def watch_owners(hook: Callable[[Instance], None] | None) -> Callable[[Instance], None] | None:
    """Install ``hook`` (None removes it); returns the one it replaces."""
    global _owner_hook
    previous, _owner_hook = _owner_hook, hook
    return previous


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def _adopting_task(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any) -> asyncio.Task[Any]:
    task = asyncio.Task(coro, loop=loop, **kwargs)
    context = kwargs.get("context")
    owner = context.get(current) if context is not None else current.get()
    if owner is not None:
        owner.adopt(task)
    return task


def _caller_line() -> str:
    """The innermost stack line of the bot's own code (not the standard library, a package or simbot)."""
    return where.of_frame(sys._getframe(2))


def run(main: Coroutine[Any, Any, T], *, horizon: float | None = None, max_steps: int | None = None) -> T:
    """Run ``main`` to completion on a fresh virtual-time loop, then close it."""
    loop = VirtualLoop(horizon=horizon, max_steps=max_steps)
    try:
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_all(loop)
        finally:
            loop.close()


def _cancel_all(loop: VirtualLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.horizon_micros = None
    loop.max_steps = None
    with contextlib.suppress(Deadlock):
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
