"""The reference scenario: a Render worker deploy of two real python-telegram-bot instances.

Generation 1 starts at 0 s; a deploy at 30 s starts generation 2, which Render
runs side by side with the old one for its 60 s hold before SIGTERM. Both run
PTB with every framework default. Updates arrive every 10 s.
"""

from __future__ import annotations

import sys

from .check import Verdict, judge
from .scenario import Bot, Event, Scenario, Updates, simulate
from .sim.trace import Trace


def render_worker_deploy(seed: int = 0, horizon: float = 180.0) -> Trace:
    return simulate(Scenario(
        seed=seed, horizon=horizon, platform="render_worker", bot=Bot(entry="simbot.drivers.ptb:naive", policy=None),
        events=(Event(0.0, "start"), Event(30.0, "deploy")), updates=Updates(every=10.0, start=5.0),
    ))  # fmt: skip


def run(seed: int = 0) -> tuple[Trace, Verdict]:
    """The demo, judged; without python-telegram-bot, one line on stderr and exit status 2."""
    from .startup.errors import FrameworkMissing, require_ptb

    try:
        require_ptb("simbot demo (two python-telegram-bot bots)")
    except FrameworkMissing as exc:
        print(f"simbot demo: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    trace = render_worker_deploy(seed)
    return trace, judge(trace)
