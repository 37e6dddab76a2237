"""``simbot replay FILE --schedules-upto K``: one scenario under every schedule with at most K
deviations from FIFO (``simbot.sim.schedule.systematic``), with the coverage said as it is.

Small scope: most order-dependent bugs need one or two departures from asyncio's order
(a check and an act split by one other task's step), so every schedule within that bound is
worth more than many random ones, and "no failure" then means something exact.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from pathlib import Path

from ..check import CHECKS, ERROR, Verdict, judge
from ..report import timeline
from ..scenario import Scenario, ScenarioError, load, save, simulate
from ..sim.schedule import Coverage, Schedule, systematic
from ..sim.trace import Trace
from .search import counts

MAX_DEVIATIONS = 5  # the runs grow as (choice points)^K: 5 is already beyond any machine
MAX_RUNS = 10_000


def every_schedule(scenario: Scenario, upto: int, *, max_runs: int = MAX_RUNS,
                   progress: bool = False) -> tuple[Coverage, Verdict | None]:  # fmt: skip
    """Run ``scenario`` (its own [schedule] set aside) under every schedule with at most ``upto``
    deviations from FIFO, fewest first, until one is a counterexample (a FAIL of a whole run, or an ERROR)."""
    verdicts: dict[str, Verdict] = {}
    done = 0

    def run(schedule: Schedule) -> Trace:
        nonlocal done
        done += 1
        if progress and done % 100 == 0:
            print(f"schedules: {done} runs", file=sys.stderr, flush=True)
        return simulate(dataclasses.replace(scenario, schedule=schedule))

    def failed(trace: Trace) -> bool:
        verdicts[trace.digest()] = verdict = judge(trace)
        return counts(verdict)

    coverage = systematic(run, failed, deviations=upto, max_runs=max_runs)
    found = coverage.failure
    return coverage, None if found is None else verdicts[found.trace.digest()]


def command(file: str, upto: int, *, max_runs: int | None = None, out: str | None = None,
            refused: list[str] | None = None) -> int:  # fmt: skip
    """Exit 0 when no schedule within the bound fails, 1 when one does (written to ``out`` unless it is
    FIFO itself, which the file already is), 2 for bad input. Stopped by ``max_runs``: exit 0, and the
    line says NOT every schedule."""
    if refused:
        return _bad(refused[0], "not with --schedules-upto (it runs many schedules, not one)")
    if not 0 <= upto <= MAX_DEVIATIONS:
        return _bad("--schedules-upto", f"expected 0 to {MAX_DEVIATIONS} deviations from FIFO, got {upto}")
    max_runs = MAX_RUNS if max_runs is None else max_runs
    if max_runs < 1:
        return _bad("--max-runs", f"expected at least 1, got {max_runs}")
    try:
        scenario = load(file)
    except ScenarioError as exc:
        print(f"simbot replay: {exc}", file=sys.stderr)
        return 2
    if not scenario.schedule.fifo:
        print(f"(the file's [schedule], {scenario.schedule.describe()}, is set aside: the schedules counted are "
              "deviations from FIFO)")  # fmt: skip
    try:
        coverage, verdict = every_schedule(scenario, upto, max_runs=max_runs, progress=True)
    except NotImplementedError as exc:
        print(f"simbot replay: {file}: bot: this simbot cannot run this kind of target yet ({exc})", file=sys.stderr)
        return 2
    head = f"simbot replay {file} --schedules-upto {upto}: "
    if coverage.failure is None:
        print(head + coverage.describe())
        return 0
    assert verdict is not None
    found = coverage.failure
    if found.schedule.fifo:
        print(head + f"the scenario already fails under FIFO (run 1): {verdict.reason}")
        print("(nothing written: the file itself is the counterexample; simbot replay shows it)")
        return 1
    print(head + coverage.describe())
    stated = dataclasses.replace(
        scenario, schedule=found.schedule, expect={} if verdict.status == ERROR else {n: verdict.outcome(n) for n in CHECKS},
        description=f"Found by `simbot replay {file} --schedules-upto {upto}` (run {coverage.runs}): "
                    f"{verdict.reason} under a schedule: {found.schedule.describe()} (the [schedule] table).",
    )  # fmt: skip
    path = Path(out or "counterexamples") / f"{Path(file).stem}-schedule-{'-'.join(f'{s}.{k}' for s, k in found.schedule.deviations)}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    save(stated, path)
    print(timeline(found.trace))
    print()
    print(verdict.describe())
    print()
    print(f"wrote {path}")
    print(f"reproduce: simbot replay {shlex.quote(str(path))}")
    return 1


def _bad(parameter: str, problem: str) -> int:
    print(f"simbot replay: {parameter}: {problem}", file=sys.stderr)
    return 2
