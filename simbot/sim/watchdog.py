"""The watchdog: a run that spins in real time is stopped, whatever the bot does about it.

Three layers, each for what the one before cannot reach:

1. SIGALRM after the run's budget raises ``Watchdog`` in whatever frame runs. A bot
   cannot move or ignore that timer: ``sandbox`` refuses SIGALRM and the real timer to it.
2. A bot may catch the exception (``except BaseException: pass`` in a loop). So the
   handler also starts an ``Unwinder``: a trace function that raises it again on the
   next line the bot's code (or a library's) executes; the standard library and the
   simulator finish their lines undisturbed. CPython removes a trace function that
   raises, so the timer keeps firing every ``REPEAT`` seconds until the run has caught
   the exception, each time raising it again in the bot's frame and re-arming the trace.
   A bot that nests catch-all loops can still outlast that, which is what layer 3 is for.
4. C code that never releases the GIL starves that thread too: ``faulthandler``'s C
   thread dumps every stack (the bot's line among them) ``2 × HARD_STOP_GRACE`` past the
   budget and exits 1.
3. A bot stuck in C code (a catastrophic regex, a blocking call) never returns to Python
   for either. A harness-owned thread waits for the run's end; ``HARD_STOP_GRACE`` real
   seconds past the budget it prints who was running where to stderr and ends the
   process with ``HARD_EXIT``: a verdict from such a run could not be trusted anyway.
"""

from __future__ import annotations

import _thread
import faulthandler
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from queue import SimpleQueue
from types import FrameType
from typing import Any

from . import where
from .process import current

HARD_EXIT = 124  # what coreutils' timeout exits with: the run was stopped from outside
HARD_STOP_GRACE = 5.0  # real seconds after the watchdog before the process itself is ended
_real_signal = signal.signal
_real_setitimer = signal.setitimer
_real_start_new_thread = _thread.start_new_thread
_real_exit = __import__("os")._exit


class Watchdog(KeyboardInterrupt):
    """The run took longer in real time than its budget: a bot spins without awaiting.

    A KeyboardInterrupt, because that is what asyncio lets out of a task.
    """

    def __init__(self, instance: str | None, where: str):
        super().__init__(f"{instance or 'the harness'} kept the CPU at {where}")
        self.instance = instance
        self.where = where


class Unwinder:
    """Raise an exception again on every line of non-harness code until ``stop``."""

    _make: Callable[[], BaseException] | None = None
    _previous: Any = None

    @classmethod
    def start(cls, frame: FrameType | None, make: Callable[[], BaseException]) -> None:
        if cls._make is None:
            cls._previous = sys.gettrace()
        cls._make = make
        while frame is not None and frame.f_code.co_name != "run_forever":  # the loop: the run's outer edge
            if not where.is_harness(frame.f_code.co_filename):
                frame.f_trace = cls._line
            frame = frame.f_back
        sys.settrace(cls._call)

    @classmethod
    def stop(cls) -> None:
        if cls._make is not None:
            cls._make = None
            sys.settrace(cls._previous)
            cls._previous = None

    @classmethod
    def _call(cls, frame: FrameType, event: str, arg: Any) -> Any:
        return None if where.is_harness(frame.f_code.co_filename) else cls._line

    @classmethod
    def _line(cls, frame: FrameType, event: str, arg: Any) -> Any:
        if cls._make is not None and event == "line":
            raise cls._make()
        return cls._line if cls._make is not None else None


REPEAT = 0.1  # real seconds between SIGALRMs once the watchdog has fired, until the run has unwound


@contextmanager
def armed(seconds: float | None) -> Iterator[Callable[[], None]]:
    """Stop the run after ``seconds`` of real time (main thread only: signals need it).

    Yields ``calm``: the run calls it once it has caught the ``Watchdog``, so that nothing
    raises it again while the instances are torn down.
    """
    import threading

    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield Unwinder.stop
        return
    state: dict[str, Any] = {"fired": None, "over": False}

    def bark(signum: int, frame: FrameType | None) -> None:
        if state["over"]:
            return
        fired = state["fired"]
        if fired is None:  # the first time: wherever the run is, as a KeyboardInterrupt would
            owner = current.get()
            fired = state["fired"] = (owner.name if owner else None, where.of_frame(frame))
        elif frame is None or where.is_harness(frame.f_code.co_filename):
            Unwinder.start(frame, lambda: Watchdog(*fired))  # unwinding through the harness: let it
            return
        Unwinder.start(frame, lambda: Watchdog(*fired))
        raise Watchdog(*fired)

    def calm() -> None:
        state["over"] = True
        _real_setitimer(signal.ITIMER_REAL, 0)
        Unwinder.stop()

    previous = _real_signal(signal.SIGALRM, bark)
    _real_setitimer(signal.ITIMER_REAL, seconds, REPEAT)
    ended = _hard_stop(seconds + HARD_STOP_GRACE)
    # C code holding the GIL starves even the thread: faulthandler's own C thread dumps every
    # stack (the bot's line among them) and exits 1. Not while pytest-timeout-like tools use it.
    faulthandler.dump_traceback_later(seconds + 2 * HARD_STOP_GRACE, exit=True, file=sys.__stderr__)
    try:
        yield calm
    finally:
        faulthandler.cancel_dump_traceback_later()
        calm()
        _real_signal(signal.SIGALRM, previous)
        ended.release()


_runs: SimpleQueue[tuple[Any, float, int]] = SimpleQueue()
_monitor: list[int] = []


def _hard_stop(seconds: float) -> Any:
    """A lock the run releases when it ends; if it has not within ``seconds``, the process ends."""
    ended = _thread.allocate_lock()
    ended.acquire()
    if not _monitor:
        _monitor.append(_real_start_new_thread(_watch, ()))
    _runs.put((ended, seconds, _thread.get_ident()))
    return ended


def _watch() -> None:
    while True:
        ended, seconds, thread = _runs.get()
        if ended.acquire(timeout=seconds):
            continue
        frame = sys._current_frames().get(thread)
        print(f"simbot: watchdog: {_running_instance(frame)} did not stop {seconds:g} real seconds into the run, "
              f"at {where.of_frame(frame)}; the harness ends here (exit {HARD_EXIT}), nothing of this run can be "
              "trusted", file=sys.__stderr__, flush=True)  # fmt: skip
        _real_exit(HARD_EXIT)


def _running_instance(frame: FrameType | None) -> str:
    """The instance whose callback the loop runs in ``frame``'s stack (read from the loop's own frame)."""
    while frame is not None:
        owner = frame.f_locals.get("owner") if frame.f_code.co_name == "_run_gated" else None
        if owner is not None:
            return str(getattr(owner, "name", owner))
        frame = frame.f_back
    return "the run"
