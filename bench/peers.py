"""Runs to find the race program under simloom and simloop (their own search, their own loop).

Both peers need Python >= 3.12, so this file runs under ``python3.12`` with the peers installed
in ``.bench-deps/py312`` (``bench.cases.race`` starts it and says so when there is no 3.12). The
program is tests/sim/race.py's own (imported, plain asyncio): ``a`` checks the slot, awaits, then
takes it; ``b`` arrives one loop iteration later. Each search starts at seed ``n * 1000`` (n = 0..N-1)
and counts the runs until the first failure, as the simbot side does.

    PYTHONPATH=.bench-deps/py312 python3.12 bench/peers.py [--searches N]   (prints one JSON line)
"""

from __future__ import annotations

import json
import statistics
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

RUNS = 100  # a search's budget, as on the simbot side
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout: tests/sim/race.py

from tests.sim.race import race as check_then_act  # noqa: E402


async def race() -> None:
    """tests/sim/race.py's program itself (plain asyncio), without the simulator's instance context."""
    await check_then_act(None)


def race_for_simloop() -> Any:  # simloop calls a plain function that returns the coroutine
    return race()


def simloom_runs(scheduler: str, start: int) -> int | None:
    import simloom

    found = simloom.explore(race, runs=RUNS, start_seed=start, scheduler=scheduler)
    return None if not found.failures else min(f.seed for f in found.failures) - start + 1


def simloop_runs(policy: str, start: int) -> int | None:
    import simloop

    report = simloop.explore(race_for_simloop, range(start, start + RUNS), policy=policy)
    return None if report is None else report.seed - start + 1


def summary(runs: list[int | None]) -> dict[str, Any]:
    hits = [r for r in runs if r is not None]
    return {"found": len(hits), "median_runs": statistics.median(hits) if hits else None,
            "mean_runs": statistics.mean(hits) if hits else None, "max_runs": max(hits, default=None)}  # fmt: skip


def main(argv: list[str]) -> int:
    searches = int(argv[argv.index("--searches") + 1]) if "--searches" in argv else 100
    figures: dict[str, Any] = {"searches": searches, "python": sys.version.split()[0],
                               "simloom": version("simloom"), "simloop": version("simloop")}  # fmt: skip
    for name, scheduler in (("simloom_random", "random"), ("simloom_pct", "pct"), ("simloom_pct_auto", "pct:auto")):
        figures[name] = summary([simloom_runs(scheduler, n * 1000) for n in range(searches)])
    for name, policy in (("simloop_random", "random"), ("simloop_pct", "pct")):
        figures[name] = summary([simloop_runs(policy, n * 1000) for n in range(searches)])
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
