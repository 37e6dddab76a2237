"""Seeded scheduling: which of the callbacks ready at one instant runs first.

asyncio runs every callback that is ready at the start of a loop iteration (a *batch*) in FIFO
order. That order is one of many a real machine can produce: which socket answered first, which
process the kernel woke first. FIFO alone never tries the others, so an order-dependent race
(check, ``await``, act) can pass every seed. A ``Schedule`` chooses the order within each batch.

Design, and why:

- The schedule is passed in explicitly (``Simulation(schedule=...)``, a scenario file's
  ``[schedule]``) like every other source of nondeterminism, and its randomness is its own
  ``random.Random(seed)``: the scenario's seed still draws exactly what it drew before.
- FIFO is the default and costs nothing: the loop installs no picker at all, so every existing
  scenario, digest and test keeps its meaning.
- Only the order *within* a batch changes. A callback scheduled while a batch runs still waits for
  the next iteration, as in asyncio, so a busy task can never starve the others.
- Picks are between *owners* (a task, else the instance whose context the callback carries, else
  the harness), and each owner's callbacks keep their FIFO order. A task's steps are program order
  and the harness's same-instant actions are file order; only the interleaving of independent
  owners is a race a real machine can run. (Two tasks woken by one future are reorderable here
  though CPython would wake them in registration order: a FAIL under a schedule is a real
  interleaving of the tasks, but may be one a single CPython process never produces.)
- A batch is decided as a series of picks. A *choice point* is a pick with two or more owners left
  in the batch; choice points are numbered from 0 across the run. Pick ``k`` runs the ``k``-th
  owner (in FIFO order of their first callback); FIFO is pick 0 everywhere. A run's schedule is
  therefore the list of its non-zero picks, ``[(step, k), ...]``: it is recorded in the trace
  (a ``schedule`` event, only when there is one) and, as ``Schedule.replaying(picks)``, replays
  the run byte for byte.

Strategies: ``fifo``; ``random`` (a uniform pick among the owners at every choice point);
``pct`` (Burckhardt et al., "A randomized scheduler with probabilistic guarantees of finding
bugs", ASPLOS 2010: each owner gets a random priority when first seen, the highest-priority owner
runs, and at ``depth - 1`` random choice points the owner just picked drops below every other);
and explicit ``deviations``. Searching, enumerating and shrinking schedules: at the end of this module.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from asyncio import Task
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .trace import Trace

STRATEGIES = ("fifo", "random", "pct")
PCT_STEPS = 200  # default choice points PCT spreads its change points over (a reference run has 176)


@dataclass(frozen=True)
class Schedule:
    """How same-instant callbacks are ordered: part of a scenario, like its seed."""

    strategy: str = "fifo"  # fifo, random or pct
    seed: int = 0  # random and pct only
    depth: int = 2  # pct only: the bug depth d (d - 1 priority change points)
    steps: int = PCT_STEPS  # pct only: the choice points the change points are drawn from
    deviations: tuple[tuple[int, int], ...] = ()  # fifo only: (choice point, pick) instead of pick 0
    counted: bool = False  # fifo only: the same run with its choice points counted (what enumeration reads)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"schedule.strategy: expected one of {', '.join(STRATEGIES)}, got {self.strategy!r}")
        if (self.deviations or self.counted) and self.strategy != "fifo":
            raise ValueError("schedule.deviations: only with the fifo strategy (deviations from FIFO)")

    @classmethod
    def replaying(cls, picks: Sequence[Sequence[int]]) -> Schedule:
        """The explicit schedule that repeats a run whose trace recorded ``picks``."""
        return cls(deviations=tuple((int(s), int(k)) for s, k in picks))

    @property
    def fifo(self) -> bool:
        """Plain FIFO: the loop runs without a picker, exactly as before schedules existed."""
        return self.strategy == "fifo" and not self.deviations and not self.counted

    def picker(self) -> Picker | None:
        """A fresh, stateful picker for one run (None for plain FIFO)."""
        if self.fifo:
            return None
        if self.strategy == "random":
            return _Random(self)
        if self.strategy == "pct":
            return _PCT(self)
        return _Deviations(self)

    def describe(self) -> str:
        if self.strategy == "random":
            return f"random (seed {self.seed})"
        if self.strategy == "pct":
            return f"pct (seed {self.seed}, depth {self.depth}, over {self.steps} choice points)"
        if self.deviations:
            shown = ", ".join(f"[{s}, {k}]" for s, k in self.deviations)
            return f"FIFO except {len(self.deviations)} pick{'s' if len(self.deviations) != 1 else ''}: {shown}"
        return "fifo"


COUNTED = Schedule(counted=True)


def owner_of(handle: asyncio.Handle) -> Any:
    """Whose callback this is: its task (a step or a wakeup), else its instance, else None (the harness).
    (``Picker.order`` has this inline.)"""
    target = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    if isinstance(target, Task):
        return target
    return getattr(handle, "_owner", None)


@dataclass
class Picker:
    """One run's state: the choice points met, and the picks that were not FIFO."""

    schedule: Schedule
    step: int = 0  # the next choice point's number
    choices: list[int] = field(default_factory=list)  # owners to choose from at each choice point
    picks: list[tuple[int, int]] = field(default_factory=list)  # (choice point, pick) where pick != 0
    ignored: list[tuple[int, int, int]] = field(default_factory=list)  # (choice point, pick, owners): out of range

    def order(self, ready: deque[asyncio.Handle]) -> None:
        """Reorder the batch in ``ready`` (every handle in it) in place; called when it holds two or more.
        Written for speed: it runs at every loop iteration with two or more callbacks ready."""
        owners = []
        for handle in ready:
            if handle._cancelled:  # type: ignore[attr-defined]  # skipped by asyncio anyway: out of the choice
                self._order_live(ready)
                return
            target = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
            owners.append(target if isinstance(target, Task) else getattr(handle, "_owner", None))
        if len(owners) == 2:  # the common case, without the general bookkeeping
            first, second = owners
            if first is second:
                return
            k = self.pick(owners)
            self.choices.append(2)
            if k:
                self.picks.append((self.step, k))
                ready.rotate()
            self.step += 1
            return
        self._order(ready, list(ready), owners)

    def _order_live(self, ready: deque[asyncio.Handle]) -> None:
        live = [h for h in ready if not h._cancelled]  # type: ignore[attr-defined]
        ready.clear()
        ready.extend(live)
        if len(live) > 1:
            self.order(ready)

    def _order(self, ready: deque[asyncio.Handle], handles: list[asyncio.Handle], owners: list[Any]) -> None:
        """The general case: a series of picks, each among the first callbacks of the owners left."""
        ordered: list[asyncio.Handle] = []
        moved = False
        keys = [id(o) for o in owners]  # all alive here: ids are unique
        left = list(range(len(handles)))
        while True:
            firsts: dict[int, int] = {}  # each remaining owner's first callback, in FIFO order
            for i in left:
                if keys[i] not in firsts:
                    firsts[keys[i]] = i
            if len(firsts) < 2:
                break
            candidates = list(firsts.values())
            k = self.pick([owners[i] for i in candidates])
            self.choices.append(len(candidates))
            if k:
                self.picks.append((self.step, k))
                moved = True
            self.step += 1
            left.remove(candidates[k])
            ordered.append(handles[candidates[k]])
        if moved:
            ordered.extend(handles[i] for i in left)
            ready.clear()
            ready.extend(ordered)

    def pick(self, owners: list[Any]) -> int:
        """Which of ``owners`` (two or more, FIFO order) runs next; ``self.step`` is this choice point."""
        raise NotImplementedError

    def record(self) -> dict[str, Any]:
        """What the trace keeps of it (``meta["schedule"]``); ``choices`` is what enumeration branches on."""
        return {"strategy": self.schedule.describe(), "picks": [list(p) for p in self.picks],
                "choices": list(self.choices), "ignored": [list(i) for i in self.ignored]}  # fmt: skip


class _Random(Picker):
    def __init__(self, schedule: Schedule) -> None:
        super().__init__(schedule)
        self.rng = random.Random(schedule.seed)

    def pick(self, owners: list[Any]) -> int:
        return self.rng.randrange(len(owners))


class _PCT(Picker):
    """Priorities per owner; weak keys, so holding one never keeps a finished task alive (its
    finalization time is part of the run)."""

    def __init__(self, schedule: Schedule) -> None:
        super().__init__(schedule)
        if schedule.depth < 1 or schedule.steps < 1:
            raise ValueError("schedule: pct needs depth >= 1 and steps >= 1")
        self.rng = random.Random(schedule.seed)
        changes = self.rng.sample(range(schedule.steps), min(schedule.depth - 1, schedule.steps))
        self.changes = {step: schedule.depth - 1 - j for j, step in enumerate(changes)}  # lowered to d-1 .. 1, below every first priority
        self.priority: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self.harness: float | None = None  # the harness owner is None: no weak reference to it

    def _priority(self, owner: Any) -> float:
        if owner is None:
            if self.harness is None:
                self.harness = self.schedule.depth + self.rng.random()
            return self.harness
        value = self.priority.get(owner)
        if value is None:
            value = self.priority[owner] = self.schedule.depth + self.rng.random()  # above every lowered one
        return value

    def pick(self, owners: list[Any]) -> int:
        """The first owner of the highest priority (new owners drawn in FIFO order). Inlined lookups:
        this runs at every choice point, and the weak dictionary's own ``get`` is a Python call."""
        known, ref = self.priority.data, weakref.ref
        k, best = 0, -1.0
        for i, owner in enumerate(owners):
            value = known.get(ref(owner)) if owner is not None else self.harness
            if value is None:
                value = self._priority(owner)
            if value > best:
                k, best = i, value
        lowered = self.changes.get(self.step)
        if lowered is not None:
            if owners[k] is None:
                self.harness = float(lowered)
            else:
                self.priority[owners[k]] = float(lowered)
        return k


class _Deviations(Picker):
    def __init__(self, schedule: Schedule) -> None:
        super().__init__(schedule)
        self.wanted = dict(schedule.deviations)

    def pick(self, owners: list[Any]) -> int:
        k = self.wanted.get(self.step, 0)
        if k >= len(owners):  # the run is not the one the deviation was written for: say so, run FIFO
            self.ignored.append((self.step, k, len(owners)))
            return 0
        return k


# -- finding a failing schedule: sampling, enumerating, shrinking ----------------------------

Run = Callable[[Schedule], "Trace"]  # one run of the scenario under a schedule
Failed = Callable[["Trace"], bool]  # does this run show the bug


@dataclass(frozen=True)
class Found:
    """A failing run, with its schedule written as explicit deviations (what replays it)."""

    schedule: Schedule
    trace: Trace
    runs: int  # runs it took to get here


def _found(trace: Trace, runs: int) -> Found:
    return Found(Schedule.replaying(trace.meta.get("schedule", {}).get("picks", [])), trace, runs)


def search(run: Run, failed: Failed, *, strategy: str = "random", runs: int = 100, seed: int = 0,
           depth: int = 2, steps: int | None = None) -> Found | None:  # fmt: skip
    """Seeds ``seed``, ``seed + 1``, ... of ``random`` or ``pct`` until a run fails, at most ``runs``.

    PCT spreads its change points over ``steps`` choice points; by default as many as a FIFO run
    of the same scenario has (one run more), since a change point after the run's end never fires."""
    if strategy not in ("random", "pct"):
        raise ValueError(f"strategy: expected random or pct, got {strategy!r}")
    spent = 0
    if strategy == "pct" and steps is None:
        fifo = run(COUNTED)
        spent += 1
        steps = max(1, len(fifo.meta["schedule"]["choices"]))
        if failed(fifo):
            return _found(fifo, spent)
    for n in range(seed, seed + runs):
        trace = run(Schedule(strategy, seed=n, depth=depth, steps=steps or PCT_STEPS))
        spent += 1
        if failed(trace):
            return _found(trace, spent)
    return None


@dataclass(frozen=True)
class Coverage:
    """What systematic mode ran, said honestly: the bound, the runs, whether it finished."""

    bound: int  # every schedule with at most this many deviations from FIFO ...
    runs: int
    complete: bool  # ... was run (False: max_runs stopped it first)
    failure: Found | None

    def describe(self) -> str:
        scope = f"every schedule with ≤ {self.bound} deviation{'s' if self.bound != 1 else ''} from FIFO"
        if self.failure is not None:
            return f"failure at run {self.runs}: {self.failure.schedule.describe()} (searching {scope})"
        if not self.complete:
            return f"stopped after {self.runs} runs, NOT {scope}: no failure in those"
        return f"{scope}: {self.runs} runs, no failure"


def systematic(run: Run, failed: Failed, *, deviations: int = 1, max_runs: int = 10_000) -> Coverage:
    """Every schedule with at most ``deviations`` non-FIFO picks, fewest deviations first (delay-bounded
    enumeration), until one fails or ``max_runs``. Each schedule is run once: a deviation is only
    added at a choice point after the schedule's last one, and its choice points are read from the
    run that had the schedule's other deviations (identical up to there)."""
    runs = 0
    level: list[tuple[Schedule, tuple[tuple[int, int], ...]]] = [(COUNTED, ())]  # (schedule, its deviations)
    for bound in range(deviations + 1):
        following: list[tuple[Schedule, tuple[tuple[int, int], ...]]] = []
        for schedule, devs in level:
            if runs >= max_runs:
                return Coverage(deviations, runs, False, None)
            trace = run(schedule)
            runs += 1
            if failed(trace):
                return Coverage(deviations, runs, True, _found(trace, runs))
            if bound == deviations:
                continue
            after = devs[-1][0] + 1 if devs else 0
            for step, options in enumerate(trace.meta["schedule"]["choices"][after:], start=after):
                for k in range(1, options):
                    more = (*devs, (step, k))
                    following.append((Schedule(deviations=more), more))
        level = following
    return Coverage(deviations, runs, True, None)


def shrink(run: Run, failed: Failed, found: Found, *, max_runs: int = 500) -> Found:
    """Fewer and smaller deviations that still fail: each one alone first, then dropping chunks; if more
    than one is left, any single deviation up to the last one's choice point; then each pick lowered
    toward 1. Every step kept is a real failing run, whose own recorded picks it keeps."""
    best, runs = found, 0

    def attempt(devs: Sequence[tuple[int, int]]) -> bool:
        nonlocal best, runs
        if runs >= max_runs:
            return False
        runs += 1
        trace = run(Schedule(deviations=tuple(devs)))
        if failed(trace):
            best = _found(trace, found.runs + runs)
            return True
        return False

    devs = list(best.schedule.deviations)
    if len(devs) > 1:
        for one in devs:
            if attempt([one]):
                break
    chunk = len(best.schedule.deviations) // 2
    while chunk >= 1:
        devs, i = list(best.schedule.deviations), 0
        while i < len(devs):
            if attempt(devs[:i] + devs[i + chunk:]):
                devs = list(best.schedule.deviations)
            else:
                i += chunk
        chunk //= 2
    if len(best.schedule.deviations) > 1:  # no single one of them fails alone: any single one up to the last
        last = best.schedule.deviations[-1][0]
        choices = run(COUNTED).meta["schedule"]["choices"]
        runs += 1
        for step, options in enumerate(choices[: last + 1]):
            if any(attempt([(step, k)]) for k in range(1, options)):
                break
    for i, (step, k) in enumerate(best.schedule.deviations):
        for lower in range(1, k):
            devs = list(best.schedule.deviations)
            if attempt([*devs[:i], (step, lower), *devs[i + 1:]]):
                break
    return Found(best.schedule, best.trace, found.runs + runs)
