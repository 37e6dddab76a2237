"""Simulated processes: bot instances sharing one loop, each in its own context.

Every callback the loop runs belongs to the instance whose context it carries, so
the loop can treat an instance like the kernel treats a process: SIGKILL drops
its callbacks (none of its code runs again, no cleanup), SIGSTOP holds them and
SIGCONT releases them in order, and ``SystemExit`` in any of its tasks ends that
instance only. Like ``asyncio.run``, an exiting instance first cancels its
remaining tasks and lets them clean up.
"""

from __future__ import annotations

import asyncio
import contextvars
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_telegram import caller

from . import where

# Bookkeeping callbacks (task done, exit) must run even when the instance is dead.
HARNESS = contextvars.Context()
KILLED = 128 + signal.SIGKILL
TERMINATED = 128 + signal.SIGTERM
INTERRUPTED = 128 + signal.SIGINT


@dataclass(frozen=True)
class InstanceContext:
    """What a bot entry point is given: who it is and where it lives."""

    name: str
    env: dict[str, str]
    filesystem: Path | Callable[[], Path]  # a container of its own, or a host shared with others
    base_url: str  # the fake Bot API, e.g. "https://api.telegram.org"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """Its filesystem's root directory, made on first use (most bots never touch a file)."""
        return self.filesystem() if callable(self.filesystem) else self.filesystem


EntryPoint = Callable[[InstanceContext], Awaitable[object]]
current: contextvars.ContextVar[Instance | None] = contextvars.ContextVar("simbot_instance", default=None)


class Instance:
    """One process of the bot under test."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, info: InstanceContext, entry: EntryPoint,
        on_exit: Callable[[Instance], None] | None = None,
    ):  # fmt: skip
        self.loop = loop
        self.info = info
        self.name = info.name
        self.entry = entry
        self.on_exit = on_exit
        self.tasks: dict[asyncio.Task[Any], None] = {}  # insertion-ordered: deterministic
        self.signal_handlers: dict[int, tuple[Callable[..., object], tuple[Any, ...]]] = {}
        self.held: list[tuple[Callable[..., object], tuple[Any, ...], contextvars.Context]] = []
        self.paused = False  # its callbacks are held: SIGSTOP, or its loop busy in a blocking call
        self.stopped = False  # SIGSTOP (until SIGCONT)
        self.busy_until = 0.0  # a coroutine's time.sleep holds the process's loop until then
        self.dead = False
        self.exiting = False
        self.exit_code: int | None = None
        self.crash: dict[str, str] | None = None  # an uncaught exception's record (where.crash)
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.main: asyncio.Task[Any] | None = None
        self.process: Any = None  # its greenproc.Process: sync code, pid, Python-level signal handlers
        self.resources: list[Callable[[], object]] = []  # closed at death, as the kernel closes fds
        self.context = contextvars.copy_context()
        self.context.run(_enter, self)

    def __repr__(self) -> str:
        return f"<Instance {self.name} {'dead' if self.dead else 'alive'}>"

    @property
    def alive(self) -> bool:
        return self.started_at is not None and not self.dead

    # -- life ------------------------------------------------------------------

    def start(self) -> None:
        self.started_at = self.loop.time()
        self.main = self.context.run(self.loop.create_task, self._run())

    async def _run(self) -> None:
        try:
            await self.entry(self.info)
        except asyncio.CancelledError:
            self.exit(INTERRUPTED if self.exit_code is None else self.exit_code)
        except (KeyboardInterrupt, SystemExit):
            raise  # the loop turns these into exits (and lets the watchdog through)
        except BaseException as exc:  # an uncaught exception ends the process with 1, after a traceback
            self.crash = where.crash(exc)
            self.exit(1)
        else:
            self.exit(0)

    def adopt(self, task: asyncio.Task[Any]) -> None:
        self.tasks[task] = None
        task.add_done_callback(self._forget, context=HARNESS)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self.tasks.pop(task, None)
        if not task.cancelled():
            # Retrieve the outcome: an exit is the process's exit, and asyncio's "exception was
            # never retrieved" log comes at garbage-collection time, which no trace may depend on.
            task.exception()
        if self.exiting and not self.dead and not self.tasks:
            self._die()

    def exit(self, code: int) -> None:
        """The process ends by itself: cancel what is left, then die with ``code``."""
        if self.exiting or self.dead:
            return
        self.exiting = True
        self.exit_code = code
        pending = [t for t in self.tasks if not t.done()]
        for task in pending:
            task.cancel()
        if not pending:
            self.loop.call_soon(self._die, context=HARNESS)

    def kill(self, code: int = KILLED) -> None:
        """SIGKILL: nothing of this instance runs again; its pending requests stay on the server."""
        if self.dead:
            return
        if self.exit_code is None or not self.exiting:
            self.exit_code = code
        for task in self.tasks:
            task._log_destroy_pending = False  # type: ignore[attr-defined]
        self._die()

    def _die(self) -> None:
        if self.dead:
            return
        self.dead = True
        self.held.clear()
        for close in reversed(self.resources):
            close()
        self.resources.clear()
        self.ended_at = self.loop.time()
        if self.on_exit is not None:
            self.on_exit(self)

    # -- signals ---------------------------------------------------------------

    def signal(self, signum: int) -> None:
        """Deliver a signal the way the kernel and CPython would."""
        if self.dead or self.started_at is None:
            return
        if signum == signal.SIGKILL:
            self.kill()
        elif signum == signal.SIGSTOP:
            self.pause()
        elif signum == signal.SIGCONT:
            self.resume()
        elif signum in self.signal_handlers:
            callback, args = self.signal_handlers[signum]
            self.loop.call_soon(callback, *args, context=self.context)
        elif self.process is not None and self.process.deliver(signum):
            pass  # a Python-level handler (signal.signal), SIG_IGN or SIG_DFL
        elif signum == signal.SIGINT and self.main is not None:
            # asyncio.run's default SIGINT handling: cancel the main task, exit 130
            self.loop.call_soon(self.main.cancel, context=self.context)
        else:
            self.kill(128 + signum)  # default action of SIGTERM and the rest: terminate

    def pause(self) -> None:
        self.stopped = self.paused = True

    def resume(self) -> None:
        self.stopped = False
        self._release()

    def busy(self, seconds: float) -> None:
        """A coroutine of this process blocked its loop (``time.sleep`` in async code): nothing else
        of the process runs for ``seconds``; what became ready meanwhile runs after, in order."""
        self.busy_until = max(self.busy_until, self.loop.time()) + seconds
        self.paused = True
        self.loop.call_at(self.busy_until, self._release, context=HARNESS)

    def _release(self) -> None:
        if not self.paused or self.stopped or self.loop.time() < self.busy_until:
            return
        self.paused = False
        held, self.held = self.held, []
        for callback, args, context in held:
            self.loop.call_soon(callback, *args, context=context)


def _enter(instance: Instance) -> None:
    current.set(instance)
    caller.set(instance.name)
