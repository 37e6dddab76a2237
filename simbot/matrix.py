"""Policies × presets: one deploy each, judged (the README's table).

    python -m simbot.matrix > table.md
"""

from __future__ import annotations

from .check import Verdict, judge
from .platforms import PRESETS
from .scenario import Bot, Event, Scenario, Updates, simulate

POLICY_NAMES = ("naive", "exit-on-conflict", "delay-probe-backoff", "lease")


def deploy(policy: str, platform: str, seed: int = 1) -> Verdict:
    """Start at 0 s, deploy at 60 s, an update every 10 s, until the rollout has long settled."""
    p = PRESETS[platform]
    horizon = 60 + p.startup_window() + p.grace + 150
    pushes = tuple(float(t) for t in range(5, int(horizon) - 60, 10))  # none in the last minute
    return judge(simulate(Scenario(
        seed=seed, horizon=horizon, platform=platform, bot=Bot(policy=policy),
        events=(Event(0.0, "start"), Event(60.0, "deploy")), updates=Updates(at=pushes),
    )))  # fmt: skip


def cell(v: Verdict) -> str:
    pollers = "1 poller" if v.outcome("single_poller") == "pass" else "**2 pollers**"
    live = "live" if v.outcome("liveness") == "pass" else f"**{v.outcome('liveness')}**"
    u = v.metrics["updates"]
    updates = "ok" if v.outcome("lost_updates") == v.outcome("duplicates") == "pass" else f"lost {u['lost']} dup {u['duplicates']}"
    return f"{pollers} / {live} / {updates} / {v.metrics['downtime']:.0f}s, {sum(v.metrics['conflicts'].values())}×409"


def markdown(seed: int = 1) -> str:
    lines = ["| preset | " + " | ".join(POLICY_NAMES) + " |", "|---" * (len(POLICY_NAMES) + 1) + "|"]
    for platform in sorted(PRESETS):
        lines.append(f"| {platform} | " + " | ".join(cell(deploy(p, platform, seed)) for p in POLICY_NAMES) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
