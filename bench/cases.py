"""The measurements, one per function; each runs in a fresh process pinned to one core.

A fresh process per case because a case changes the process it runs in: the harness
starts freezegun (a bare loop in the same process would pay for its patched clock),
looptime is imported only for its own case. Times are the median of several batches;
``perf_counter`` here is always the real clock (freezegun is only active inside a run).

Run one case: ``.venv/bin/python -m bench.cases NAME [--quick]`` (prints JSON).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DEPS = ROOT / ".bench-deps"  # looptime, kept out of the test venv (its pytest plugin hooks every test)
HORIZON = 180.0


def timed(work: Callable[[], object], *, batches: int, per_batch: int) -> dict[str, Any]:
    """Milliseconds per call: the median of ``batches`` batches, after one warm-up call."""
    work()
    per_call = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(per_batch):
            work()
        per_call.append((time.perf_counter() - start) / per_batch * 1000)
    return {"ms": statistics.median(per_call), "ms_min": min(per_call), "ms_max": max(per_call),
            "runs": batches * per_batch}  # fmt: skip


def reference(quick: bool = False) -> dict[str, Any]:
    """The full harness: simbot.demo's Render worker deploy, two real PTB 22 bots, 180 s, judged."""
    from simbot.check import judge
    from simbot.demo import render_worker_deploy

    seeds = iter(range(10**9))
    trace = render_worker_deploy(0)
    figures = timed(lambda: judge(render_worker_deploy(next(seeds))), **_size(quick, 5, 20))
    requests = trace.of("request")
    return figures | {"requests": len(requests), "conflicts": sum(r["status"] == 409 for r in requests),
                      "handled": len(trace.of("handled"))}  # fmt: skip


def bare(quick: bool = False) -> dict[str, Any]:
    """The same bots on bench/bare.py's loop, transport and minimal fake."""
    from .bare import run

    outcome = run()
    return timed(run, **_size(quick, 5, 20)) | _outcome(outcome)


def bare_simbot_fake(quick: bool = False) -> dict[str, Any]:
    """The bare loop with simbot's fake instead of the minimal one: the fake's fidelity alone."""
    from .bare import run

    outcome = run(fake="simbot")
    return timed(lambda: run(fake="simbot"), **_size(quick, 5, 20)) | _outcome(outcome)


def looptime(quick: bool = False) -> dict[str, Any]:
    """The bare workload on looptime's loop: its defaults, and with its no-op cycles off."""
    sys.path.insert(0, str(BENCH_DEPS))
    import looptime as lt

    from .bare import run

    figures: dict[str, Any] = {"version": lt.__version__ if hasattr(lt, "__version__") else _version("looptime")}
    for label, options in (("default", {}), ("noop_cycles_0", {"noop_cycles": 0})):
        def factory(options: dict[str, Any] = options) -> Any:
            return lt.new_event_loop(start=0, **options)

        outcome = run(factory)
        figures[label] = timed(lambda factory=factory: run(factory), **_size(quick, 5, 20)) | _outcome(outcome)  # type: ignore[misc]
    return figures


def explore(quick: bool = False) -> dict[str, Any]:
    """A cold ``simbot explore`` (new process, imports included) until its counterexample is written."""
    command = [str(ROOT / ".venv" / "bin" / "simbot"), "explore", "--policy", "delay-probe-backoff",
               "--platform", "render_worker"]  # fmt: skip
    seconds, outputs = [], []
    for _ in range(1 if quick else 5):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            done = subprocess.run([*command, "--out", out], capture_output=True, text=True, timeout=600, cwd=ROOT)
            seconds.append(time.perf_counter() - start)
            written = sorted(p.name for p in Path(out).iterdir())
        if done.returncode != 1 or not written:
            raise RuntimeError(f"simbot explore: expected exit 1 and a counterexample, got {done.returncode}: "
                               f"{done.stderr[-400:]}")  # fmt: skip
        outputs.append(written[0])
    summary = [line for line in done.stdout.splitlines() if line.startswith(("reproduce", "verdict"))]
    return {"seconds": statistics.median(seconds), "seconds_all": seconds, "counterexample": outputs[0],
            "summary": summary, "progress": done.stderr.strip().splitlines()[-1:]}  # fmt: skip


def scale(quick: bool = False) -> dict[str, Any]:
    """100 replicas of a default PTB bot fighting for 600 virtual seconds, judged; and its peak memory."""
    from simbot.check import judge
    from simbot.scenario import Bot, Event, Scenario, Updates, simulate

    replicas, horizon = (10, 60.0) if quick else (100, 600.0)
    scenario = Scenario(seed=0, horizon=horizon, platform="render_worker", platform_overrides={"replicas": replicas},
                        bot=Bot(policy="naive"), events=(Event(0.0, "start"),),
                        updates=Updates(every=10.0, start=5.0))  # fmt: skip
    trace = simulate(scenario)
    figures = timed(lambda: judge(simulate(scenario)), **_size(quick, 5, 1))
    tracemalloc.start()
    judge(simulate(scenario))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    requests = trace.of("request")
    return figures | {"replicas": replicas, "horizon": horizon, "requests": len(requests),
                      "conflicts": sum(r["status"] == 409 for r in requests), "records": len(trace),
                      "peak_mib": peak / 2**20}  # fmt: skip


def realtime(quick: bool = False) -> dict[str, Any]:
    """The fight in real time over loopback next to the same timeline simulated (bench/realtime.py)."""
    from .realtime import measure

    return measure(16.0 if quick else 24.0)


def program(quick: bool = False) -> dict[str, Any]:
    """The reference deploy with the bot as a script (``bench/program_bot.py``: ``main()`` calls
    ``app.run_polling()``) against the same bot through the async contract; target ratio <= 1.3.

    ``quiet`` is the same script with ``BENCH_QUIET=1``: it silences the bot's logging, which is
    the one thing the script does that the contract does not (PTB prints a traceback for every
    409 to the process's stderr; through the contract nobody reads them). The three alternate
    within each batch, timed with ``process_time``, so load on a shared machine hits all alike."""
    from simbot.check import judge
    from simbot.scenario import Bot, Event, Scenario, Updates, simulate
    from simbot.sim import program as targets

    script = targets.script(str(ROOT / "bench" / "program_bot.py"))

    def deploy(entry: Any, seed: int, env: dict[str, str] | None = None) -> Any:
        return simulate(Scenario(
            seed=seed, horizon=HORIZON, platform="render_worker", bot=Bot(entry=entry, policy=None, env=env or {}),
            events=(Event(0.0, "start"), Event(30.0, "deploy")), updates=Updates(every=10.0, start=5.0),
        ))  # fmt: skip

    runs: dict[str, Callable[[int], Any]] = {
        "contract": lambda n: judge(deploy("simbot.drivers.ptb:naive", n)),
        "script": lambda n: judge(deploy(script, n)),
        "quiet": lambda n: judge(deploy(script, n, {"BENCH_QUIET": "1"})),
    }  # fmt: skip
    batches, per_batch = (2, 2) if quick else (7, 10)
    for run in runs.values():
        run(0)  # warm-up
    per_call: dict[str, list[float]] = {name: [] for name in runs}
    for b in range(batches):
        for name, run in runs.items():
            start = time.process_time()
            for i in range(per_batch):
                run(b * per_batch + i)
            per_call[name].append((time.process_time() - start) / per_batch * 1000)
    ms = {name: statistics.median(values) for name, values in per_call.items()}
    traces = {"contract": deploy("simbot.drivers.ptb:naive", 0), "script": deploy(script, 0)}
    requests = {name: [(r["method"], r["status"]) for r in t.of("request")] for name, t in traces.items()}
    return {"ms": ms, "ratio": ms["script"] / ms["contract"], "ratio_quiet": ms["quiet"] / ms["contract"],
            "batches": per_call, "runs": batches * per_batch, "requests": len(requests["script"]),
            "conflicts": sum(status == 409 for _, status in requests["script"]),
            "same_requests": requests["script"] == requests["contract"],
            "output_lines": len(traces["script"].of("output"))}  # fmt: skip


def schedule(quick: bool = False) -> dict[str, Any]:
    """The reference deploy, judged, under each schedule strategy against FIFO (target: <= 1.05).

    ``counted`` is FIFO with the picker on (the same run, its choice points counted): the mechanism's
    own cost. ``random`` and ``pct`` also run other interleavings, so their runs differ a little
    (other requests, another fight); seed n runs scenario seed n. The configurations alternate
    within each batch and are timed with ``process_time``, so load on the shared machine hits all alike."""
    import dataclasses

    from simbot.check import judge
    from simbot.scenario import Bot, Event, Scenario, Updates, simulate
    from simbot.sim.schedule import COUNTED, Schedule

    base = Scenario(seed=0, horizon=HORIZON, platform="render_worker", bot=Bot(entry="simbot.drivers.ptb:naive", policy=None),
                    events=(Event(0.0, "start"), Event(30.0, "deploy")), updates=Updates(every=10.0, start=5.0))  # fmt: skip
    strategies: dict[str, Callable[[int], Schedule]] = {
        "fifo": lambda n: Schedule(), "counted": lambda n: COUNTED,
        "random": lambda n: Schedule("random", seed=n), "pct": lambda n: Schedule("pct", seed=n, depth=3),
    }  # fmt: skip

    def once(name: str, n: int) -> Any:
        return judge(simulate(dataclasses.replace(base, seed=n, schedule=strategies[name](n))))

    batches, per_batch = (2, 2) if quick else (7, 20)
    for name in strategies:
        once(name, 0)  # warm-up
    per_call: dict[str, list[float]] = {name: [] for name in strategies}
    for b in range(batches):
        for name in strategies:
            start = time.process_time()
            for i in range(per_batch):
                once(name, b * per_batch + i)
            per_call[name].append((time.process_time() - start) / per_batch * 1000)
    ms = {name: statistics.median(values) for name, values in per_call.items()}
    choices = simulate(dataclasses.replace(base, schedule=COUNTED)).meta["schedule"]["choices"]
    return {"ms": ms, "ratio": {name: ms[name] / ms["fifo"] for name in ms}, "batches": per_call,
            "choice_points": len(choices), "runs": batches * per_batch}  # fmt: skip


def race(quick: bool = False) -> dict[str, Any]:
    """Runs to find tests/sim/race.py's check-then-act race (FIFO never does): ``schedule.search`` from
    search seeds 0, 1000, … with random and pct (pct's first run is the FIFO count); then simloom and
    simloop on the same program with their own searches (bench/peers.py, under Python 3.12)."""
    import dataclasses

    from simbot.scenario import Bot, Scenario, Updates, simulate
    from simbot.sim.schedule import Schedule, search

    base = Scenario(seed=0, horizon=1.0, platform="render_worker", bot=Bot(entry="tests.sim.race:race", policy=None),
                    updates=Updates(start=0.0))  # fmt: skip

    def run(schedule: Schedule) -> Any:
        return simulate(dataclasses.replace(base, schedule=schedule))

    def failed(trace: Any) -> bool:
        return any("takes the slot" in e.get("error", "") + e.get("message", "") for e in trace.of("uncaught"))

    searches = 5 if quick else 100
    figures: dict[str, Any] = {"searches": searches}
    for strategy in ("random", "pct"):
        runs = []
        for n in range(searches):
            found = search(run, failed, strategy=strategy, runs=100, seed=n * 1000)
            runs.append(found.runs if found is not None else None)
        hits = [r for r in runs if r is not None]
        figures[strategy] = {"found": len(hits), "median_runs": statistics.median(hits) if hits else None,
                             "mean_runs": statistics.mean(hits) if hits else None, "max_runs": max(hits, default=None)}  # fmt: skip
    figures["peers"] = peers(searches)
    return figures


PEERS = ("simloom==0.5.0", "simloop==0.2.2")  # the versions measured for the README
PEERS_DIR = BENCH_DEPS / "py312"


def python312() -> str | None:
    """A python3.12 that runs: on PATH (a pyenv shim may refuse), else one pyenv installed."""
    import shutil

    found = [shutil.which("python3.12"), *map(str, sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12")))]
    for python in filter(None, found):
        if subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0:
            return python
    return None


def peers(searches: int) -> dict[str, Any]:
    """bench/peers.py under python3.12 (the peers need >= 3.12), installing them into .bench-deps/py312
    first; ``{"skipped": why}`` when there is no python3.12 or the install fails: said, not guessed."""
    python = python312()
    if python is None:
        return {"skipped": "no working python3.12 (on PATH or under ~/.pyenv; simloom and simloop need Python >= 3.12)"}
    if not all((PEERS_DIR / name.split("==")[0]).is_dir() for name in PEERS):
        done = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                               "--target", str(PEERS_DIR), *PEERS], capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            return {"skipped": f"could not install {', '.join(PEERS)}: {done.stderr.strip()[-300:]}"}
    done = subprocess.run([python, str(ROOT / "bench" / "peers.py"), "--searches", str(searches)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(PEERS_DIR)}, timeout=1800)  # fmt: skip
    if done.returncode != 0:
        return {"skipped": f"bench/peers.py failed (exit {done.returncode}): {done.stderr.strip()[-300:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def cluster(quick: bool = False) -> dict[str, Any]:
    """Exploration throughput on a Dask LocalCluster of 1 and of 2 workers (not pinned: it needs the cores).

    ``simbot explore --policy lease --platform render_worker`` finds nothing, so every example runs. Each
    width runs a small and a large N; examples per second is (large - small) / (its time - the small
    one's), so the cluster's start-up and the imports in each worker's child process cancel out."""
    small, large = (20, 60) if quick else (40, 600)
    command = [str(ROOT / ".venv" / "bin" / "simbot"), "explore", "--policy", "lease", "--platform", "render_worker",
               "--seed", "0"]  # fmt: skip
    seconds: dict[int, dict[int, float]] = {}
    for workers in (1, 2) * (1 if quick else 3):  # alternating, so a change in machine load hits both
        for n in (small, large):
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                done = subprocess.run([*command, "--examples", str(n), "--cluster", f"local:{workers}", "--out", out],
                                      capture_output=True, text=True, timeout=1800, cwd=ROOT)  # fmt: skip
                took = time.perf_counter() - start
            if done.returncode != 0:
                raise RuntimeError(f"simbot explore --cluster local:{workers}: exit {done.returncode}: {done.stderr[-400:]}")
            best = seconds.setdefault(workers, {})
            best[n] = min(best.get(n, float("inf")), took)  # the least disturbed round
    rate = {w: (large - small) / (t[large] - t[small]) for w, t in seconds.items()}
    return {"examples": [small, large], "seconds": {str(w): {str(n): v for n, v in t.items()} for w, t in seconds.items()},
            "per_second": {str(w): r for w, r in rate.items()}, "speedup": rate[2] / rate[1],
            "cores": os.cpu_count(), "load": os.getloadavg()[0]}  # fmt: skip


CASES: dict[str, Callable[[bool], dict[str, Any]]] = {
    "program": program, "schedule": schedule, "race": race, "cluster": cluster,
    "reference": reference, "bare": bare, "bare_simbot_fake": bare_simbot_fake, "looptime": looptime, "explore": explore, "scale": scale,
    "realtime": realtime,
}  # fmt: skip


UNPINNED = ("cluster",)  # cases that measure more than one core


def _size(quick: bool, batches: int, per_batch: int) -> dict[str, int]:
    return {"batches": 2, "per_batch": 2} if quick else {"batches": batches, "per_batch": per_batch}


def _outcome(outcome: Any) -> dict[str, Any]:
    return {"requests": outcome.requests, "conflicts": outcome.conflicts, "handled": len(outcome.handled)}


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def main(argv: list[str]) -> int:
    name, quick = argv[0], "--quick" in argv[1:]
    if name not in CASES:
        print(f"bench.cases: unknown case {name!r}; expected one of: {', '.join(CASES)}", file=sys.stderr)
        return 2
    if hasattr(os, "sched_setaffinity") and os.environ.get("BENCH_CPU") and name not in UNPINNED:
        os.sched_setaffinity(0, {int(os.environ["BENCH_CPU"])})
    print(json.dumps(CASES[name](quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
