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
import math
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
MICROS = 1_000_000


class Deadlock(RuntimeError):
    """Every task waits on something that no timer and no I/O can ever resolve."""


class HorizonReached(RuntimeError):
    """Virtual time passed the run's end of time."""


class StepLimit(RuntimeError):
    """The loop ran more iterations than the run allows."""


class VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self, *, horizon: float | None = None, max_steps: int | None = None) -> None:
        super().__init__(selectors.SelectSelector())
        self._micros = 0
        self._clock_resolution = 1 / MICROS
        self.horizon_micros = None if horizon is None else round(horizon * MICROS)
        self.max_steps = max_steps
        self.steps = 0
        real_select = self._selector.select

        def select(timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            self.steps += 1
            if self.max_steps is not None and self.steps > self.max_steps:
                raise StepLimit(f"more than {self.max_steps} loop steps")
            events = real_select(0)
            if events or timeout == 0:
                return events
            if timeout is None:
                raise Deadlock(f"nothing left to run at t={self.time():.6f}s: every task waits forever")
            self.advance_to(self._scheduled[0].when())
            return events

        self._selector.select = select  # type: ignore[method-assign]

    def time(self) -> float:
        return self._micros / MICROS

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
