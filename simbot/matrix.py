"""Policies × presets: one deploy each, judged (the README's table).

    simbot matrix [--policies a,b] [--platforms x,y] [--format md|csv|json] [--seed N]
    python -m simbot.matrix > table.md          (the README's table: every policy, every preset)

``rows`` runs the selected cells into plain rows (one per platform and policy, platform
first); ``markdown``, ``csv_text`` and ``json_text`` render the same rows, so the three
formats always agree.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .check import CHECKS, Verdict, judge
from .platforms import PRESETS, Platform
from .scenario import Bot, Event, Scenario, Updates, simulate

POLICY_NAMES = ("naive", "exit-on-conflict", "delay-probe-backoff", "lease")
FORMATS = ("md", "csv", "json")
# one row: the cell, each checker's outcome, then the numbers
COLUMNS = ("policy", "platform", "status", *CHECKS, "downtime_s", "conflicts_409", "updates_lost", "updates_duplicated",
           "overlap_s")  # fmt: skip
SETTLE = 150.0  # seconds the run goes on after the last deploy's stop could have been killed


def settled_horizon(platform: Platform, last_event: float) -> float:
    """A horizon long past the rollout that ``last_event`` starts: its start-up window, its grace, then SETTLE s."""
    return last_event + platform.startup_window() + platform.grace + SETTLE


def deploy_scenario(bot: Bot, platform: str, seed: int = 1) -> Scenario:
    """Start at 0 s, deploy at 60 s, an update every 10 s, until the rollout has long settled."""
    horizon = settled_horizon(PRESETS[platform], 60.0)
    pushes = tuple(float(t) for t in range(5, int(horizon) - 60, 10))  # none in the last minute
    return Scenario(seed=seed, horizon=horizon, platform=platform, bot=bot,
                    events=(Event(0.0, "start"), Event(60.0, "deploy")), updates=Updates(at=pushes))  # fmt: skip


def deploy(policy: str | Bot, platform: str, seed: int = 1) -> Verdict:
    """``deploy_scenario`` of a policy (by name) or any bot, judged."""
    bot = Bot(policy=policy) if isinstance(policy, str) else policy
    return judge(simulate(deploy_scenario(bot, platform, seed)))


class SelectionError(ValueError):
    """A policy or platform the matrix does not have; ``parameter`` is "policies" or "platforms"."""

    def __init__(self, parameter: str, problem: str):
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter
        self.problem = problem


def select(policies: Iterable[str] | None = None, platforms: Iterable[str] | None = None) -> tuple[list[str], list[str]]:
    """The selection, checked: the given names in their order (duplicates dropped), or all of them."""
    return (_checked("policies", policies, POLICY_NAMES), _checked("platforms", platforms, tuple(sorted(PRESETS))))


def _checked(parameter: str, names: Iterable[str] | None, allowed: Sequence[str]) -> list[str]:
    if names is None:
        return list(allowed)
    chosen = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not chosen:
        raise SelectionError(parameter, f"no names given; expected some of {', '.join(allowed)}")
    unknown = [n for n in chosen if n not in allowed]
    if unknown:
        listed = ", ".join(repr(n) for n in unknown)
        raise SelectionError(parameter, f"unknown {listed}; expected one or more of {', '.join(allowed)}")
    return chosen


def row(policy: str, platform: str, v: Verdict) -> dict[str, Any]:
    u = v.metrics["updates"]
    return {
        "policy": policy,
        "platform": platform,
        "status": v.status.lower() + (" (cut short)" if v.cut is not None else ""),
        **{name: v.outcome(name) for name in CHECKS},
        "downtime_s": v.metrics["downtime"],
        "conflicts_409": sum(v.metrics["conflicts"].values()),
        "updates_lost": u["lost"],
        "updates_duplicated": u["duplicates"],
        "overlap_s": v.metrics.get("overlap"),
    }


def rows(
    policies: Iterable[str] | None = None, platforms: Iterable[str] | None = None, seed: int = 1,
    progress: Callable[[int, int, str, str], object] | None = None, bots: Sequence[tuple[str, Bot]] = (),
) -> list[dict[str, Any]]:  # fmt: skip
    """Every selected cell, platform by platform; ``progress(done, total, policy, platform)`` before each.

    ``bots`` are columns of their own after the policies, ``(label, Bot)``: your bot beside the policies
    (``--bot``); with bots and no ``policies`` given, the bots alone."""
    if bots and policies is None:
        chosen_platforms = select(POLICY_NAMES, platforms)[1]
        columns: list[tuple[str, str | Bot]] = []
    else:
        chosen_policies, chosen_platforms = select(policies, platforms)
        columns = [(p, p) for p in chosen_policies]
    columns += [(label, bot) for label, bot in bots]
    cells = [(label, what, platform) for platform in chosen_platforms for label, what in columns]
    out = []
    for i, (label, what, platform) in enumerate(cells):
        if progress is not None:
            progress(i, len(cells), label, platform)
        out.append(row(label, platform, deploy(what, platform, seed)))
    return out


def cell(r: dict[str, Any]) -> str:
    """Figures only for a run that can be trusted: an error or a cut-short run says so instead."""
    if r["status"] == "error":
        return "**ERROR**: the bot never worked"
    if r["status"].endswith("(cut short)"):
        return f"**{r['status'].split()[0]}: cut short**"
    pollers = "1 poller" if r["single_poller"] == "pass" else "**2 pollers**"
    live = "live" if r["liveness"] == "pass" else f"**{r['liveness']}**"
    ok = r["lost_updates"] == r["duplicates"] == "pass"
    updates = "ok" if ok else f"lost {r['updates_lost']} dup {r['updates_duplicated']}"
    return f"{pollers} / {live} / {updates} / {r['downtime_s']:.0f}s, {r['conflicts_409']}×409"


def markdown(table: list[dict[str, Any]] | None = None) -> str:
    """One line per platform, one column per policy (both in the rows' order); default: the whole matrix."""
    table = rows() if table is None else table
    policies = list(dict.fromkeys(r["policy"] for r in table))
    platforms = list(dict.fromkeys(r["platform"] for r in table))
    by_cell = {(r["platform"], r["policy"]): r for r in table}
    lines = ["| preset | " + " | ".join(policies) + " |", "|---" * (len(policies) + 1) + "|"]
    for platform in platforms:
        lines.append(f"| {platform} | " + " | ".join(cell(by_cell[platform, p]) for p in policies) + " |")
    return "\n".join(lines) + "\n"


def csv_text(table: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return out.getvalue()


def json_text(table: list[dict[str, Any]]) -> str:
    return json.dumps(table, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render(table: list[dict[str, Any]], fmt: str = "md") -> str:
    renderers = {"md": markdown, "csv": csv_text, "json": json_text}
    if fmt not in renderers:
        raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    return renderers[fmt](table)


if __name__ == "__main__":
    print(markdown(), end="")
