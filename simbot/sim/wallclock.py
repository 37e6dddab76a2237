"""The wall clock a bot reads follows virtual time (freezegun underneath).

freezegun is started once per process, but holds a time source only while a
simulation runs: one that asks the running simulation (Unix time is
``epoch + loop.time()`` plus the calling instance's clock skew). Outside a run
freezegun has no source, so every patched function falls through to the real one
and the harness's own measurements, subprocess timeouts, hypothesis and pytest
keep real time.

``time.time``, ``monotonic`` and ``perf_counter`` (and their ``_ns`` forms) then get a
shortcut: httpx, cookiejar and logging call them on every request, and freezegun's path
(a stack walk, a datetime built and taken apart) cost more than the rest of the clock.
On the thread running a simulation, during the run, they compute freezegun's values to
the microsecond directly; anywhere else they are freezegun's own functions (virtual
during a run unless the caller is in a module of ``IGNORED``).
"""

from __future__ import annotations

import datetime
import threading
import time
from typing import Any

import freezegun
import freezegun.api

from .process import current

IGNORED = ("hypothesis", "_pytest", "pytest", "pluggy", "simbot.bench", "bench", "uvicorn", "h11", "coverage")
_active: list[tuple[Any, int]] = []  # the running simulation and the thread it runs on
_started = False


class VirtualNow:
    """A freezegun time factory backed by the running simulation's loop clock."""

    def __call__(self) -> datetime.datetime:
        return _UNIX_EPOCH + datetime.timedelta(microseconds=_unix_micros())

    def tick(self, delta: Any = None) -> None:  # freezegun's API; time moves only with the loop
        return None

    def move_to(self, target: Any) -> None:
        raise RuntimeError("simbot: the wall clock follows virtual time; move the simulation instead")


_UNIX_EPOCH = datetime.datetime(1970, 1, 1)


def _unix_micros() -> int:
    """Unix time now for the calling instance (its clock skew included), in whole microseconds:
    ``epoch + loop.time() + skew`` rounded as ``timedelta(seconds=…)`` rounds it."""
    simulation, _ = _active[-1]
    instance = current.get()
    skew = instance.info.extra.get("clock_skew", 0.0) if instance is not None else 0.0
    epoch = simulation.epoch
    if not skew and epoch == int(epoch):  # the usual case, in integers: the loop counts microseconds
        return int(epoch) * 1_000_000 + simulation.loop.micros
    since = datetime.timedelta(seconds=epoch + simulation.loop.time() + skew)
    return (since.days * 86400 + since.seconds) * 1_000_000 + since.microseconds


def _direct(fake: Any, unit: str) -> Any:
    """On the simulation's thread during a run: virtual time computed here, to freezegun's
    exact values. Anywhere else: freezegun's own ``fake``, which reads the real clock outside
    a run and applies its ignore list on other threads, as it does for ``datetime``."""

    def clock() -> Any:
        if not _active or threading.get_ident() != _active[-1][1]:
            return fake()
        micros = _unix_micros()
        if unit == "ns":  # monotonic_ns, perf_counter_ns
            return micros * 1000
        whole, fraction = divmod(micros, 1_000_000)
        seconds = whole + fraction / 1000000.0
        return int(seconds * 1e9) if unit == "ns from s" else seconds  # time_ns goes through a float

    clock.__name__ = fake.__name__
    return clock


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
    for name, unit in (("time", "s"), ("monotonic", "s"), ("perf_counter", "s"), ("time_ns", "ns from s"),
                       ("monotonic_ns", "ns"), ("perf_counter_ns", "ns")):  # fmt: skip
        setattr(time, name, _direct(getattr(time, name), unit))  # freezegun's fake, wrapped
    for name in ("localtime", "gmtime"):
        setattr(time, name, _zoned(getattr(time, name)))
    _started = True


def _zoned(fake: Any) -> Any:
    """freezegun's ``localtime``/``gmtime`` give a ``struct_time`` without ``tm_zone``/``tm_gmtoff``
    (None): aiohttp's access log builds ``timedelta(seconds=tm_gmtoff)`` from it and fails. In a run
    every machine keeps UTC, as containers do, so those fields are UTC's."""

    def zoned(*args: Any) -> Any:
        result = fake(*args)
        if not _active or getattr(result, "tm_gmtoff", 0) is not None:
            return result
        return time.struct_time(tuple(result)[:9], {"tm_zone": "UTC", "tm_gmtoff": 0})

    zoned.__name__ = fake.__name__
    return zoned


class following:
    """Context manager: while inside, the wall clock reads ``simulation``'s virtual time."""

    def __init__(self, simulation: Any):
        self.simulation = simulation

    def __enter__(self) -> None:
        ensure_started()
        self.entry = (self.simulation, threading.get_ident())
        _active.append(self.entry)
        ignore, tick = _BOOKKEEPING
        freezegun.api.freeze_factories.append(_SOURCE)  # type: ignore[arg-type]
        freezegun.api.ignore_lists.append(ignore)
        freezegun.api.tick_flags.append(tick)

    def __exit__(self, *exc: object) -> None:
        freezegun.api.tick_flags.pop()
        freezegun.api.ignore_lists.pop()
        freezegun.api.freeze_factories.remove(_SOURCE)  # type: ignore[arg-type]
        _active.remove(self.entry)


_SOURCE = VirtualNow()
_BOOKKEEPING: list[Any] = []  # freezegun's ignore list and tick flag, present only during a run
