"""Sync code in a simulated process: one greenlet per flow of control, blocking on the virtual clock.

A bot written as a program (``main()`` calls ``app.run_polling()``, ``asyncio.run``,
``time.sleep``) blocks its thread; in a simulation every process shares one thread and
one loop. So each process runs its sync code in a greenlet whose parent is the *hub*
(the greenlet running the loop). A blocking point schedules its own wake-up on the
loop and switches to the hub; the wake-up is a callback of the process, so SIGSTOP
holds it and SIGKILL drops it like any other. Inside a process greenlet no loop is
running, exactly as in a real ``main()``: ``asyncio.run`` and PTB's ``get_event_loop``
work, and ``run_until_complete`` on the shared loop waits for its future instead.
"""

from __future__ import annotations

import asyncio
import asyncio.events as events
import signal
import sys
from collections.abc import Callable
from typing import Any

import greenlet

from .process import Instance, current
from .watchdog import Watchdog

_ENDING_TRIES = 10  # GreenletExit thrown this many times at most into a greenlet that keeps blocking


class _Deliver:
    """Sent into a blocked main greenlet: run a Python-level signal handler there."""

    __slots__ = ("handler", "signum")

    def __init__(self, handler: Callable[..., object], signum: int) -> None:
        self.handler = handler
        self.signum = signum


class ProcessGreenlet(greenlet.greenlet):
    """A flow of control of one simulated process (its main code, or one executor call)."""

    def __init__(self, run: Callable[[], object], parent: greenlet.greenlet, process: Process) -> None:
        super().__init__(run, parent)
        self.process = process
        self.waiting: asyncio.Future[Any] | None = None  # what it is blocked on
        self.loop_depth = 0  # inside run_until_complete / run_forever: the process's loop "runs"


def running() -> ProcessGreenlet | None:
    """The process greenlet running now, or None on the hub."""
    try:
        g = greenlet.getcurrent()
    except RuntimeError:  # the interpreter is exiting (a loop's __del__ asks): no process runs
        return None
    return g if type(g) is ProcessGreenlet else None


class Process:
    """The sync side of one instance: its greenlets, loop view, signal handlers and atexit list."""

    def __init__(self, instance: Instance, loop: Any, pid: int, ppid: int) -> None:
        self.instance = instance
        self.loop = loop
        self.pid = pid
        self.ppid = ppid
        self.hub: greenlet.greenlet = greenlet.getcurrent()  # the loop's greenlet; set again at each spawn
        self.main: ProcessGreenlet | None = None
        self.greenlets: list[ProcessGreenlet] = []  # creation order: teardown ends them in it
        self.handlers: dict[int, Any] = {}  # Python-level signal handlers (signal.signal)
        self.atexit: list[tuple[Callable[..., object], tuple[Any, ...], dict[str, Any]]] = []
        self.forever: asyncio.Future[None] | None = None  # run_forever's wait, resolved by loop.stop()
        self.stop_pending = False
        self.loop_closed = False
        self.loop_unset = False  # set_event_loop(None) was called: get_event_loop raises
        self.loop_policy: Any = None  # what the process passed to set_event_loop_policy (uvloop.install)
        self.ending = False
        self.entry_task: asyncio.Task[Any] | None = None  # a program's own harness-side task
        self.host = instance.name
        self.simulation: Any = None

    # -- greenlets ---------------------------------------------------------------

    def spawn(self, body: Callable[[], object], *, main: bool = False) -> ProcessGreenlet:
        here = greenlet.getcurrent()
        self.hub = here.process.hub if type(here) is ProcessGreenlet else here
        g = ProcessGreenlet(body, self.hub, self)
        g.gr_context = self.instance.context.copy()
        self.greenlets.append(g)
        if main:
            self.main = g
        return g

    def resume(self, g: ProcessGreenlet, value: object = None, throw: BaseException | None = None) -> object:
        """Switch into ``g`` from the hub; back when it blocks or ends. No loop runs in there."""
        running_loop = events._get_running_loop()
        events._set_running_loop(None)
        try:
            if throw is not None:
                return g.throw(throw)
            return g.switch() if value is None else g.switch(value)
        finally:
            events._set_running_loop(running_loop)

    def end(self) -> None:
        """After the run (or when the process exits while blocked): GreenletExit into each greenlet, in order."""
        self.ending = True
        for g in list(self.greenlets):
            for _ in range(_ENDING_TRIES):
                if g.dead:
                    break
                try:
                    self.resume(g, throw=greenlet.GreenletExit())
                except Watchdog:
                    raise
                except BaseException:
                    pass
        self.greenlets.clear()

    # -- blocking ----------------------------------------------------------------

    def block_on(self, future: asyncio.Future[Any]) -> Any:
        """Wait (switched out to the hub) until ``future`` is done; signals' handlers run meanwhile."""
        g = running()
        assert g is not None and g.process is self
        if self.ending:
            raise greenlet.GreenletExit()

        def wake(_: object) -> None:
            if g.waiting is future and not g.dead:
                self.resume(g)

        g.waiting = future
        future.add_done_callback(wake)
        try:
            while True:
                sent = self.hub.switch()
                if isinstance(sent, _Deliver):
                    _call_handler(sent)  # its exception leaves the blocking call, as in CPython
                if future.done():
                    break
                if self.ending:
                    raise greenlet.GreenletExit()
        finally:
            g.waiting = None
            future.remove_done_callback(wake)
        return future.result()

    def abandon(self) -> None:
        """The process died under its running greenlet (os._exit): switch away for good. Only the
        teardown's GreenletExit comes back in, after the trace is taken."""
        while True:
            self.hub.switch()

    def sleep(self, seconds: float) -> None:
        future = self.loop.create_future()
        self.loop.call_later(seconds, _resolve, future)
        self.block_on(future)

    def in_loop(self, future: asyncio.Future[Any]) -> Any:
        """``run_until_complete``/``run_forever``: blocked, but the process's loop counts as running,
        so an exit raised by one of its callbacks is thrown in here, as run_forever propagates it."""
        g = running()
        assert g is not None
        g.loop_depth += 1
        try:
            return self.block_on(future)
        finally:
            g.loop_depth -= 1

    def absorb(self, exc: BaseException) -> bool:
        """A SystemExit/KeyboardInterrupt from a callback: thrown into the main greenlet when it waits
        in the loop (True), else the caller ends the instance (False)."""
        g = self.main
        if g is None or g.dead or g.waiting is None or g.loop_depth == 0 or self.instance.dead or self.ending:
            return False
        self.resume(g, throw=exc)
        return True

    # -- executor ----------------------------------------------------------------

    def call_in_greenlet(self, func: Callable[..., Any], args: tuple[Any, ...]) -> asyncio.Future[Any]:
        """``run_in_executor``: ``func`` in a fresh greenlet of this process, started by a callback."""
        future = self.loop.create_future()

        def body() -> None:
            try:
                result = func(*args)
            except (Watchdog, greenlet.GreenletExit):
                raise
            except BaseException as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)
            finally:
                self._forget(greenlet.getcurrent())

        g = self.spawn(body)
        self.loop.call_soon(self.resume, g, context=self.instance.context.copy())
        return future

    def _forget(self, g: object) -> None:
        if g in self.greenlets:
            self.greenlets.remove(g)  # type: ignore[arg-type]

    # -- signals -----------------------------------------------------------------

    def deliver(self, signum: int) -> bool:
        """A signal with a Python-level disposition; False when the process has none for it."""
        if signum not in self.handlers:
            return False
        handler = self.handlers[signum]
        if handler == signal.SIG_IGN:
            return True
        if handler == signal.SIG_DFL:
            self.instance.kill(128 + signum)
            return True
        self.loop.call_soon(self._run_handler, handler, signum, context=self.instance.context.copy())
        return True

    def _run_handler(self, handler: Callable[..., object], signum: int) -> None:
        g = self.main
        if g is not None and not g.dead and g.waiting is not None:
            self.resume(g, _Deliver(handler, signum))
        else:
            handler(signum, None)

    def run_atexit(self) -> None:
        """Like the interpreter at exit: last registered first; an exception is printed, not raised."""
        while self.atexit:
            func, args, kwargs = self.atexit.pop()
            try:
                func(*args, **kwargs)
            except (Watchdog, greenlet.GreenletExit):
                raise
            except SystemExit:
                pass
            except BaseException:
                import traceback

                print("Exception ignored in atexit callback", func, file=sys.stderr)
                traceback.print_exc()


def _call_handler(sent: _Deliver) -> None:
    sent.handler(sent.signum, sys._getframe(2))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def of(instance: Instance | None) -> Process | None:
    return getattr(instance, "process", None)


def current_process() -> Process | None:
    """The process of the instance running now (its greenlet or one of its callbacks)."""
    g = running()
    if g is not None:
        return g.process
    return of(current.get())
