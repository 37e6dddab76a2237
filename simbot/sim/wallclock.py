"""The wall clock a bot reads follows virtual time (freezegun underneath).

freezegun is started once per process, but holds a time source only while a
simulation runs: one that asks the running simulation (Unix time is
``epoch + loop.time()`` plus the calling instance's clock skew). Outside a run
freezegun has no source, so every patched function falls through to the real one
and the harness's own measurements, subprocess timeouts, hypothesis and pytest
keep real time.
"""

from __future__ import annotations

import datetime
from typing import Any

import freezegun
import freezegun.api

from .process import current

IGNORED = ("hypothesis", "_pytest", "pytest", "pluggy", "simbot.bench", "bench", "uvicorn", "h11", "coverage")
_active: list[Any] = []  # the running simulation (at most one per thread of control)
_started = False


class VirtualNow:
    """A freezegun time factory backed by the running simulation's loop clock."""

    def __call__(self) -> datetime.datetime:
        simulation = _active[-1]
        instance = current.get()
        skew = instance.info.extra.get("clock_skew", 0.0) if instance is not None else 0.0
        return _utc(simulation.epoch + simulation.loop.time() + skew)

    def tick(self, delta: Any = None) -> None:  # freezegun's API; time moves only with the loop
        return None

    def move_to(self, target: Any) -> None:
        raise RuntimeError("simbot: the wall clock follows virtual time; move the simulation instead")


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds)


def ensure_started() -> None:
    """Start freezegun once for the process, with our factory as its time source."""
    global _started
    if _started:
        return
    freezegun.configure(extend_ignore_list=list(IGNORED))
    freezer = freezegun.freeze_time("2026-01-01", tick=False, real_asyncio=True)
    freezer.start()
    # Undo start()'s bookkeeping (not its patches): to freezegun this reads as "stopped",
    # so outside a run every patched function answers with the real clock.
    freezegun.api.freeze_factories.pop()
    _BOOKKEEPING.extend([freezegun.api.ignore_lists.pop(), freezegun.api.tick_flags.pop()])
    _started = True


class following:
    """Context manager: while inside, the wall clock reads ``simulation``'s virtual time."""

    def __init__(self, simulation: Any):
        self.simulation = simulation

    def __enter__(self) -> None:
        ensure_started()
        _active.append(self.simulation)
        ignore, tick = _BOOKKEEPING
        freezegun.api.freeze_factories.append(_SOURCE)  # type: ignore[arg-type]
        freezegun.api.ignore_lists.append(ignore)
        freezegun.api.tick_flags.append(tick)

    def __exit__(self, *exc: object) -> None:
        freezegun.api.tick_flags.pop()
        freezegun.api.ignore_lists.pop()
        freezegun.api.freeze_factories.remove(_SOURCE)  # type: ignore[arg-type]
        _active.remove(self.simulation)


_SOURCE = VirtualNow()
_BOOKKEEPING: list[Any] = []  # freezegun's ignore list and tick flag, present only during a run
