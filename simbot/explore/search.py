"""The search: hypothesis runs over scenarios, in fixed chunks, until one fails a checker.

The N examples are cut into chunks of ``CHUNK``; chunk ``c`` is an ordinary
hypothesis run of its own, seeded from ``(seed, c)``, with no example database.
The answer is the shrunk counterexample of the *lowest* failing chunk, so it depends
on the seed and N only: not on ``jobs`` (chunks run in parallel processes) nor on
how fast the machine is, unless the time budget runs out first (then it says so).

Scenario and schedule are one search: each example draws its schedule (``strategies.py``),
so hypothesis shrinks both at once, toward fewer events and toward FIFO. A counterexample
that still needs its seeded schedule is then cut down to the fewest departures from FIFO
(``simbot.sim.schedule.shrink``) and written as explicit deviations, which replay it byte
for byte; still inside the chunk, so the answer stays a function of the seed and N.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace

from hypothesis import HealthCheck, Phase, event, given, settings, target
from hypothesis import seed as hypothesis_seed

from ..check import CHECKS, ERROR, FAIL, Verdict, judge
from ..platforms import PRESETS
from ..scenario import Bot, Event, Scenario, Updates, simulate, to_toml
from ..sim.schedule import Found, Schedule, shrink
from ..sim.trace import Trace
from . import executors
from .strategies import DEFAULT_FAULTS, WEBHOOK_EXTRA_FAULTS, WEBHOOK_FAULTS, horizon_for, scenarios

CHUNK = 25


@dataclass
class Exploration:
    """What a search did and, if it failed a checker, the smallest scenario that does."""

    bot: Bot
    platform: str
    seed: int
    examples: int  # asked for
    faults: tuple[str, ...]
    schedules: str = "pct"  # what each example's schedule is drawn from (fifo, random, pct)
    run: int = 0  # scenarios simulated (shrinking included)
    chunks_done: int = 0
    out_of_budget: bool = False
    counterexample: Scenario | None = None
    verdict: Verdict | None = None
    found_in_chunk: int | None = None
    elapsed: float = 0.0
    reached: dict[str, int] = field(default_factory=dict)  # runs that got somewhere (docs/simulation-testing.md §7)
    cannot_start: Verdict | None = None  # the bot errs on a plain start, no faults: nothing to search


    @property
    def found(self) -> bool:
        return self.counterexample is not None

    def failed(self) -> list[str]:
        if self.verdict is not None and self.verdict.status == ERROR:
            return [f"with an error ({self.verdict.reason})"]
        return [n for n in CHECKS if self.verdict is not None and self.verdict.outcome(n) == "fail"]

    def as_scenario(self, found_by: str) -> Scenario:
        """The counterexample as a scenario file states it: ``[expect]`` is what it showed.

        An ERROR is written without [expect] (scenario files have no status key yet): its
        replay then differs, as an error must."""
        assert self.counterexample is not None and self.verdict is not None
        error = self.verdict.status == ERROR
        order = self.counterexample.schedule
        under = "" if order.fifo else f" under a schedule: {order.describe()} (the [schedule] table)"
        return replace(
            self.counterexample,
            expect={} if error else {n: self.verdict.outcome(n) for n in CHECKS},
            description=f"Found by `{found_by}` (chunk {self.found_in_chunk}, shrunk): fails {', '.join(self.failed())}{under}.",
        )


def counts(verdict: Verdict) -> bool:
    """Whether a verdict is a counterexample: a FAIL of a whole run, or an ERROR.

    A cut-short run is not (what stopped it may be the machine's speed); neither is an
    INCONCLUSIVE one: nothing was shown to fail."""
    return verdict.status == ERROR or (verdict.status == FAIL and verdict.cut is None)


def plain_start(bot: Bot, platform: str, seed: int = 0, services: tuple[str, ...] = ()) -> Scenario:
    """The least a bot must survive: started once, updates every 10 s, no deploy, no fault."""
    events = (Event(0.0, "start"),)
    return Scenario(seed=seed, horizon=horizon_for(PRESETS[platform], events), platform=platform, bot=bot,
                    events=events, updates=Updates(every=10.0), services=services)  # fmt: skip


class _Failed(Exception):
    def __init__(self, scenario: Scenario, verdict: Verdict):
        super().__init__(verdict.status + ": " + verdict.reason)
        self.scenario, self.verdict = scenario, verdict


@dataclass
class _ChunkResult:
    index: int
    run: int
    reached: dict[str, int]
    out_of_budget: bool
    scenario: Scenario | None = None
    verdict: Verdict | None = None


def chunk_seed(seed: int, index: int) -> int:
    return int.from_bytes(hashlib.sha256(f"simbot-explore:{seed}:{index}".encode()).digest()[:8], "big")


def run_chunk(bot: Bot, platform: str, faults: tuple[str, ...], seed: int, index: int, size: int,
              deadline: float | None, tick: Callable[[], None] | None = None,
              schedules: str = "fifo", services: tuple[str, ...] = ()) -> _ChunkResult:  # fmt: skip
    """One hypothesis run of ``size`` examples; shrinks what fails (runs in any process)."""
    result = _ChunkResult(index, 0, {}, False)
    failed: dict[str, Verdict] = {}  # known failures, so an out-of-budget shrink can still replay them

    @hypothesis_seed(chunk_seed(seed, index))
    @settings(max_examples=size, database=None, deadline=None, derandomize=False, print_blob=False,
              phases=(Phase.generate, Phase.target, Phase.shrink), report_multiple_bugs=False,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(scenarios(platform, bot, faults, schedules=schedules, services=services))
    def prop(scenario: Scenario) -> None:
        key = to_toml(scenario)
        verdict = failed.get(key) or _judge(scenario, deadline, result, tick)
        if verdict is not None and counts(verdict):
            failed[key] = verdict
            raise _Failed(scenario, verdict)  # the one raise site: hypothesis tells failures apart by it

    try:
        prop()
    except _Failed as exc:
        result.scenario, result.verdict = exc.scenario, exc.verdict
        if not exc.scenario.schedule.fifo:
            result.scenario, result.verdict = fewest_deviations(exc.scenario, deadline, result, tick)
    return result


def fewest_deviations(scenario: Scenario, deadline: float | None, result: _ChunkResult,
                      tick: Callable[[], None] | None) -> tuple[Scenario, Verdict]:  # fmt: skip
    """The shrunk counterexample with its seeded schedule turned into the fewest, smallest departures
    from FIFO that still fail (FIFO itself, if it fails too): explicit deviations, replayed byte for byte."""
    verdicts: dict[str, Verdict] = {}

    def run(schedule: Schedule) -> Trace:
        trace = simulate(replace(scenario, schedule=schedule))
        result.run += 1
        if tick is not None:
            tick()
        return trace

    def failed(trace: Trace) -> bool:
        if deadline is not None and time.time() > deadline:
            result.out_of_budget = True  # no smaller schedule is taken after the budget: what is found stands
            return False
        verdicts[trace.digest()] = verdict = judge(trace)
        return counts(verdict)

    fifo = run(Schedule())
    if failed(fifo):
        return replace(scenario, schedule=Schedule()), verdicts[fifo.digest()]
    seeded = run(scenario.schedule)
    picks = seeded.meta["schedule"]["picks"]
    small = shrink(run, failed, Found(Schedule.replaying(picks), seeded, 0))
    verdict = verdicts.get(small.trace.digest()) or judge(small.trace)
    return replace(scenario, schedule=small.schedule), verdict


def _judge(scenario: Scenario, deadline: float | None, result: _ChunkResult,
           tick: Callable[[], None] | None) -> Verdict | None:  # fmt: skip
    if deadline is not None and time.time() > deadline:
        result.out_of_budget = True
        return None
    verdict = judge(simulate(scenario))
    result.run += 1
    if tick is not None:
        tick()
    for name, count in verdict.reached.items():
        if count:
            result.reached[name] = result.reached.get(name, 0) + 1
            event(f"reached {name}")
    target(float(verdict.metrics["overlap"]), label="seconds with two live pollers")
    return verdict


def serves_webhooks(trace: Trace) -> bool:
    """Whether a process of the bot answered a webhook POST with a 2xx (its plain start shows it)."""
    return any(e.get("event") == "ack" and e.get("instance") is not None for e in trace.of("webhook"))


def fault_set(faults: tuple[str, ...] | None, webhook: bool) -> tuple[str, ...]:
    """The faults a search draws: those asked for, or the defaults (with the webhook faults for a bot
    that serves webhooks). Webhook faults asked for a bot that polls would never act: refused."""
    if faults is None:
        return DEFAULT_FAULTS + (WEBHOOK_FAULTS if webhook else ())
    web = [f for f in faults if f in WEBHOOK_FAULTS + WEBHOOK_EXTRA_FAULTS]
    if web and not webhook:
        raise ValueError(f"faults: {', '.join(web)} act on webhook POSTs, and this bot answered none on a plain "
                         "start (it polls, or serves nothing the platform routes)")  # fmt: skip
    return tuple(faults)


def explore(bot: Bot, platform: str, *, examples: int = 100, seed: int = 0, budget: float | None = None,
            jobs: int = 1, faults: tuple[str, ...] | None = None, schedules: str = "pct",
            progress: Callable[[Exploration], None] | None = None, cluster: str | None = None,
            services: tuple[str, ...] = ()) -> Exploration:  # fmt: skip
    """Search up to ``examples`` scenarios (and ``budget`` seconds) for one that fails a checker, each
    example's same-instant order drawn from ``schedules`` (``fifo``: asyncio's order only). ``faults``
    None: the defaults, plus the webhook faults when the bot's plain start shows it serves webhooks."""
    asked = DEFAULT_FAULTS if faults is None else tuple(faults)
    scenarios(platform, bot, asked, schedules=schedules, services=services)  # bad arguments fail here, before any process starts
    if examples < 1:
        raise ValueError(f"examples: expected at least 1, got {examples}")
    if jobs < 1:
        raise ValueError(f"jobs: expected at least 1, got {jobs}")
    executors.check(cluster)
    started = time.time()
    deadline = None if budget is None else started + budget
    report = Exploration(bot, platform, seed, examples, asked, schedules)
    start_trace = simulate(plain_start(bot, platform, seed, services))
    first_run = judge(start_trace)
    if first_run.status == ERROR:
        report.cannot_start, report.elapsed = first_run, time.time() - started
        return report
    faults = report.faults = fault_set(faults, serves_webhooks(start_trace))
    sizes = [min(CHUNK, examples - i) for i in range(0, examples, CHUNK)]
    results: dict[int, _ChunkResult] = {}

    def tick() -> None:
        report.run += 1
        report.elapsed = time.time() - started
        if progress is not None:
            progress(report)

    def absorb(r: _ChunkResult) -> None:
        results[r.index] = r
        report.chunks_done += 1
        report.out_of_budget |= r.out_of_budget
        for name, n in r.reached.items():
            report.reached[name] = report.reached.get(name, 0) + n

    if jobs == 1 and cluster is None:
        for index, size in enumerate(sizes):
            if deadline is not None and time.time() > deadline:
                report.out_of_budget = True
                break
            absorb(run_chunk(bot, platform, tuple(faults), seed, index, size, deadline, tick, schedules, services))
            if results[index].scenario is not None:
                break
    else:
        _parallel(bot, platform, tuple(faults), seed, sizes, deadline, jobs, absorb, report, tick, schedules, cluster,
                  services)  # fmt: skip
    first = min((i for i, r in results.items() if r.scenario is not None), default=None)
    if first is not None:
        report.counterexample, report.verdict = results[first].scenario, results[first].verdict
        report.found_in_chunk = first
        kept = [r for i, r in results.items() if i <= first]  # chunks past it ran only because others ran in parallel
        report.run, report.chunks_done = sum(r.run for r in kept), len(kept)
        report.reached = {}
        for r in kept:
            for name, n in r.reached.items():
                report.reached[name] = report.reached.get(name, 0) + n
    report.elapsed = time.time() - started
    return report


def _parallel(bot: Bot, platform: str, faults: tuple[str, ...], seed: int, sizes: list[int],
              deadline: float | None, jobs: int, absorb: Callable[[_ChunkResult], None],
              report: Exploration, tick: Callable[[], None], schedules: str = "fifo", cluster: str | None = None,
              services: tuple[str, ...] = ()) -> None:  # fmt: skip
    """Chunks in worker processes; stop handing out chunks past the lowest failing one."""
    pending: dict[Future[_ChunkResult], int] = {}
    stop_at = len(sizes)
    next_index = 0
    with executors.pool(jobs, cluster) as pool:
        jobs = pool.width
        while pending or next_index < min(len(sizes), stop_at):
            while len(pending) < jobs and next_index < min(len(sizes), stop_at):
                if deadline is not None and time.time() > deadline:
                    report.out_of_budget = True
                    stop_at = min(stop_at, next_index)  # out of time: hand out nothing more
                    break
                future = pool.submit(run_chunk, bot, platform, faults, seed, next_index, sizes[next_index], deadline,
                                     None, schedules, services)  # fmt: skip
                pending[future] = next_index
                next_index += 1
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                pending.pop(future)
                r = future.result()
                absorb(r)
                for _ in range(r.run):
                    tick()
                if r.scenario is not None:
                    stop_at = min(stop_at, r.index)
