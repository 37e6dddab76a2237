"""``simbot explore``: the search with a progress line, a scenario file and a timeline."""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from ..report import timeline
from ..scenario import Bot, save, simulate
from .executors import ChunkLost
from .fingerprint import WorkerDiffers
from .search import Exploration, explore, plain_start
from .strategies import DEFAULT_FAULTS, FAULTS, WEBHOOK_FAULTS


def bot_from(name: str) -> Bot:
    """A policy name, or ``module:function`` for your own start-up (docs/startup.md)."""
    from ..startup import POLICIES

    if ":" in name:
        from ..sim.entry import load

        load(name)  # a ValueError saying what is wrong
        return Bot(startup=name)
    if name not in POLICIES:
        raise ValueError(f"expected one of {', '.join(POLICIES)} or 'package.module:function', got {name!r}")
    return Bot(policy=name)


def command(policy: str | None, platform: str, *, examples: int, seed: int, budget: float | None, jobs: int,
            out: str, faults: str | None, target: str | None = None, env: Sequence[str] = (),
            schedules: str = "pct", cluster: str | None = None, redis: bool = False) -> int:  # fmt: skip
    """Exit 1 when a counterexample was found (and written), 0 when none, 2 for bad arguments,
    3 when the bot cannot start at all (an ERROR on a plain start: nothing to search).

    The bot: ``policy`` (a policy name or your start-up) or ``target`` (your bot as it is written,
    the forms of ``simbot check``), with ``env`` (``NAME=VALUE``) in its processes' environment."""
    from ..checking import BadInput, resolve

    try:
        if (policy is None) == (target is None):
            raise BadInput("--policy / --bot", "exactly one of them")
        bot = resolve(target, None, policy, env)
    except BadInput as exc:
        return _bad("--bot" if exc.argument == "TARGET" else exc.argument, exc.problem)
    chosen = None if faults is None else tuple(f.strip() for f in faults.split(",") if f.strip())
    try:
        report = explore(bot, platform, examples=examples, seed=seed, budget=budget, jobs=jobs, faults=chosen,
                         schedules=schedules, progress=_progress, cluster=cluster,
                         services=("redis",) if redis else ())  # fmt: skip
    except ValueError as exc:
        parameter, _, problem = str(exc).partition(": ")
        return _bad(f"--{parameter}", problem or str(exc))
    except ChunkLost as exc:
        print(f"simbot explore: {exc}; nothing of this search can be trusted", file=sys.stderr)
        return 124
    except WorkerDiffers as exc:
        return _bad("--cluster", f"{exc}; every worker needs the client's simbot, Python, libraries and bot code")
    print(file=sys.stderr)
    again = command_line(policy, platform, examples, seed, faults, target=target, env=env, schedules=schedules,
                         redis=redis)  # fmt: skip
    if report.cannot_start is not None:
        print(cannot_start(report))
        return 3
    if report.counterexample is None:
        print(_summary(report))
        if report.out_of_budget:
            print(f"the time budget ran out first; for a complete search of {examples} examples: {again}")
        return 0
    path = Path(out) / f"{_slug(bot.label())}-{platform}-seed{seed}-n{examples}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    scenario = report.as_scenario(again)
    assert report.verdict is not None
    verdict = report.verdict
    save(scenario, path)
    trace = simulate(scenario)
    print(_summary(report))
    print(timeline(trace))
    print()
    print(verdict.describe())
    print()
    print(f"wrote {path}")
    print(f"reproduce: simbot replay {shlex.quote(str(path))}")
    print(f"search again: {again}")
    return 1


def cannot_start(r: Exploration) -> str:
    """The report of a bot that errs on a plain start: its error, timeline and verdict; no counterexample."""
    assert r.cannot_start is not None
    scenario = plain_start(r.bot, r.platform, r.seed)
    return "\n".join([f"simbot explore: {r.bot.label()} on {r.platform}: the bot cannot start: {r.cannot_start.reason}",
                      "(a plain start, no deploy and no fault; nothing was searched and no counterexample was written)",
                      timeline(simulate(scenario)), "", r.cannot_start.describe()])  # fmt: skip


def _summary(r: Exploration) -> str:
    what = "found a counterexample" if r.found else "found no counterexample"
    reached = ", ".join(f"{k} in {v}" for k, v in sorted(r.reached.items())) or "nothing"
    return (f"simbot explore: {r.bot.label()} on {r.platform}: {what} after {r.run} simulations "
            f"({r.chunks_done} chunk(s) of up to {r.examples} examples, {r.elapsed:.1f} s); "
            f"faults: {', '.join(r.faults)}; schedules: {SCHEDULES_SAID[r.schedules]}\n"
            f"  runs that reached: {reached}")  # fmt: skip


def _progress(r: Exploration) -> None:
    if sys.stderr.isatty():
        print(f"\rexplore {r.bot.label()} on {r.platform}: {r.run} runs, {r.elapsed:.1f} s", end="", file=sys.stderr)
    elif r.run % 25 == 0:
        print(f"explore {r.bot.label()} on {r.platform}: {r.run} runs, {r.elapsed:.1f} s", file=sys.stderr)


def command_line(policy: str | None, platform: str, examples: int, seed: int, faults: str | None = None, *,
                 target: str | None = None, env: Sequence[str] = (), schedules: str = "pct", redis: bool = False) -> str:  # fmt: skip
    """The command that searches exactly these scenarios again (``--jobs`` does not change them)."""
    bot = ["--policy", policy] if policy is not None else [f"--bot={target}"]
    words = ["simbot", "explore", *bot, "--platform", platform, "--examples", str(examples), "--seed", str(seed)]
    words += [f"--env={item}" for item in env]
    if faults is not None:
        words += ["--faults", faults]
    if schedules != "pct":
        words += ["--schedules", schedules]
    if redis:
        words.append("--redis")
    return shlex.join(words)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")


def _bad(parameter: str, problem: str) -> int:
    print(f"simbot explore: {parameter}: {problem}", file=sys.stderr)
    return 2


SCHEDULES_SAID = {"fifo": "FIFO only", "random": "random (1 example in 4 FIFO)",
                  "pct": "PCT (1 example in 4 FIFO)"}  # fmt: skip
SCHEDULES_HELP = ("the same-instant order each example draws: fifo (asyncio's order only: the search before "
                  "seeded schedules), random or pct (default; one example in four keeps FIFO); a counterexample "
                  "that needs its schedule is written with the fewest deviations from FIFO that still fail")  # fmt: skip
FAULT_HELP = (f"comma-separated faults to draw from (default: {','.join(DEFAULT_FAULTS)}, plus "
              f"{','.join(WEBHOOK_FAULTS)} for a bot that serves webhooks; all: {','.join(FAULTS)})")  # fmt: skip
