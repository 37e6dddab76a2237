"""Start-ups × presets, per framework: one deploy each, judged (the README's tables).

    simbot matrix [--framework ptb|aiogram|both] [--policies a,b] [--platforms x,y] [--format md|csv|json]
    python -m simbot.matrix > tables.md          (the README's tables: both frameworks, every preset)

A framework's columns are its plain bot (``naive``), the practices users ship (the example bots
of docs/examples/practices, run as written), simbot's own policies, then webhook mode: the
framework's own webhook example as written (``webhook_example``, tests/bots) and simbot's
webhook policy (``webhook``); a preset without HTTP routing has no webhook cell ("n/a"). ``rows`` runs the
selected cells into plain rows (framework, then platform, then column); ``markdown``,
``csv_text`` and ``json_text`` render the same rows, so the three formats always agree.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from .check import CHECKS, Verdict, judge
from .platforms import PRESETS, Platform
from .platforms.routing import routing_for
from .scenario import Bot, Event, Scenario, Updates, simulate

POLICY_NAMES = ("naive", "exit-on-conflict", "delay-probe-backoff", "lease")
FRAMEWORKS = {"ptb": "python-telegram-bot 22", "aiogram": "aiogram 3"}
FRAMEWORK_CHOICES = (*FRAMEWORKS, "both")
# docs/practices.md: what users add to their start-up, one example bot per framework (docs/examples/practices/P/)
PRACTICES = ("startup_delay", "drop_pending", "retry_ladder", "exit_on_conflict", "host_lock", "redis_lock", "redis_owner")
NEEDS_REDIS = ("redis_lock", "redis_owner")  # run with the simulation's shared Redis (REDIS_URL=redis://redis:6379/0)
PRACTICE_DIR = Path(__file__).resolve().parent.parent / "docs" / "examples" / "practices"
# simbot.startup's policies per framework, (column, policy name): the incident's fix, and the lease
# (exit-on-conflict is the practice's column here, as users write it)
SHIPPED = {"ptb": (("delay-probe-backoff", "delay-probe-backoff"), ("lease", "lease")),
           "aiogram": (("lease", "aiogram-lease"),)}  # fmt: skip
# webhook mode, per framework: the framework's webhook example as written (tests/bots), and simbot's policy
WEBHOOK_EXAMPLES = {"ptb": "ptb_webhook", "aiogram": "aiogram_webhook"}
WEBHOOK_BOTS = Path(__file__).resolve().parent.parent / "tests" / "bots"
WEBHOOK_POLICIES = {"ptb": "webhook", "aiogram": "aiogram-webhook"}
WEBHOOK_COLUMNS = ("webhook_example", "webhook")
NOT_APPLICABLE = "n/a"  # a webhook cell on a preset without HTTP routing (a worker, a laptop): nothing to POST to
FORMATS = ("md", "csv", "json")
# one row: the cell, each checker's outcome, then the numbers
COLUMNS = ("framework", "policy", "platform", "status", *CHECKS, "downtime_s", "conflicts_409", "updates_lost",
           "updates_duplicated", "overlap_s")  # fmt: skip
SETTLE = 150.0  # seconds the run goes on after the last deploy's stop could have been killed


def settled_horizon(platform: Platform, last_event: float) -> float:
    """A horizon long past the rollout that ``last_event`` starts: its start-up window, its grace, then SETTLE s."""
    return last_event + platform.startup_window() + platform.grace + SETTLE


def deploy_scenario(bot: Bot, platform: str, seed: int = 1, services: tuple[str, ...] = ()) -> Scenario:
    """Start at 0 s, deploy at 60 s, an update every 10 s, until the rollout has long settled."""
    horizon = settled_horizon(PRESETS[platform], 60.0)
    pushes = tuple(float(t) for t in range(5, int(horizon) - 60, 10))  # none in the last minute
    return Scenario(seed=seed, horizon=horizon, platform=platform, bot=bot, services=services,
                    events=(Event(0.0, "start"), Event(60.0, "deploy")), updates=Updates(at=pushes))  # fmt: skip


def deploy(policy: str | Bot, platform: str, seed: int = 1, services: tuple[str, ...] = ()) -> Verdict:
    """``deploy_scenario`` of a policy (by name) or any bot, judged."""
    bot = Bot(policy=policy) if isinstance(policy, str) else policy
    return judge(simulate(deploy_scenario(bot, platform, seed, services)))


class SelectionError(ValueError):
    """A policy or platform the matrix does not have; ``parameter`` is "policies" or "platforms"."""

    def __init__(self, parameter: str, problem: str):
        super().__init__(f"{parameter}: {problem}")
        self.parameter = parameter
        self.problem = problem


def select(policies: Iterable[str] | None = None, platforms: Iterable[str] | None = None) -> tuple[list[str], list[str]]:
    """The selection, checked: the given names in their order (duplicates dropped), or all of them."""
    return (_checked("policies", policies, POLICY_NAMES), _checked("platforms", platforms, tuple(sorted(PRESETS))))


def framework_columns(framework: str) -> list[tuple[str, str | Bot]]:
    """A framework's columns, ``(label, policy name or Bot)``: its plain bot, the practices, simbot's policies.

    The practices are the example bots in a checkout of simbot (docs/examples/practices); aiogram's
    lease is in the table only where simbot.startup has it."""
    from .startup import POLICIES

    if framework not in FRAMEWORKS:
        raise SelectionError("framework", f"expected one of {', '.join(FRAMEWORK_CHOICES)}, got {framework!r}")
    naive: str | Bot = "naive" if framework == "ptb" else Bot(entry="simbot.drivers.aiogram:naive")
    columns: list[tuple[str, str | Bot]] = [("naive", naive)]
    for practice in PRACTICES:
        script = PRACTICE_DIR / practice / f"{framework}_bot.py"
        if not script.is_file():
            raise SelectionError("framework", f"the practice bots live in a checkout of simbot; {script} is missing")
        columns.append((practice, Bot(script=str(script))))
    columns += [(label, name) for label, name in SHIPPED[framework] if name in POLICIES]
    example = WEBHOOK_BOTS / WEBHOOK_EXAMPLES[framework] / "bot.py"
    if not example.is_file():
        raise SelectionError("framework", f"the webhook example bots live in a checkout of simbot; {example} is missing")
    columns.append(("webhook_example", Bot(script=str(example))))
    if WEBHOOK_POLICIES[framework] in POLICIES:
        columns.append(("webhook", WEBHOOK_POLICIES[framework]))
    return columns


def frameworks_from(framework: str | None) -> list[str]:
    if framework is None:
        return []
    if framework not in FRAMEWORK_CHOICES:
        raise SelectionError("framework", f"expected one of {', '.join(FRAMEWORK_CHOICES)}, got {framework!r}")
    return list(FRAMEWORKS) if framework == "both" else [framework]


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


def row(policy: str, platform: str, v: Verdict, framework: str = "ptb") -> dict[str, Any]:
    u = v.metrics["updates"]
    return {
        "framework": framework,
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
    framework: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every selected cell, platform by platform; ``progress(done, total, column, platform)`` before each.

    Without ``framework``: simbot's four python-telegram-bot policies (``policies`` picks among them).
    With one (``ptb``, ``aiogram`` or ``both``): each framework's columns (``framework_columns``), and
    ``policies`` picks columns by label; a label only one framework has is used where it exists.
    ``bots`` are columns of their own after the policies, ``(label, Bot)``: your bot beside the policies
    (``--bot``); with bots and no ``policies`` given, the bots alone."""
    tables: list[tuple[str, list[tuple[str, str | Bot]]]] = []
    if framework is not None:
        chosen_platforms = select(None, platforms)[1]
        for name in frameworks_from(framework):
            tables.append((name, framework_columns(name)))
        if policies is not None:
            every = [label for _, columns in tables for label, _ in columns]
            wanted = _checked("policies", policies, tuple(dict.fromkeys(every)))
            tables = [(name, sorted((c for c in columns if c[0] in wanted), key=lambda c: wanted.index(c[0])))
                      for name, columns in tables]  # fmt: skip
        if bots:
            raise SelectionError("framework", "a --bot is judged on its own framework already; leave out --framework")
    elif bots and policies is None:
        chosen_platforms = select(POLICY_NAMES, platforms)[1]
    else:
        chosen_policies, chosen_platforms = select(policies, platforms)
        tables.append(("ptb", [(p, p) for p in chosen_policies]))
    if framework is None:  # one table: the policies and your bots (their framework is their own: no label)
        tables.append(("", list(bots)))
        cells = [(name, label, what, platform) for platform in chosen_platforms
                 for name, columns in tables for label, what in columns]  # fmt: skip
    else:  # a table per framework
        cells = [(name, label, what, platform) for name, columns in tables
                 for platform in chosen_platforms for label, what in columns]  # fmt: skip
    out = []
    for i, (name, label, what, platform) in enumerate(cells):
        if progress is not None:
            progress(i, len(cells), label if framework is None else f"{name} {label}", platform)
        if framework is not None and label in WEBHOOK_COLUMNS and routing_for(platform) is None:
            out.append(not_applicable(label, platform, name))
            continue
        services = ("redis",) if framework is not None and label in NEEDS_REDIS else ()
        out.append(row(label, platform, deploy(what, platform, seed, services), name))
    return out


def not_applicable(policy: str, platform: str, framework: str) -> dict[str, Any]:
    """A webhook cell on a preset that routes no HTTP: no run, no figures."""
    return {"framework": framework, "policy": policy, "platform": platform, "status": NOT_APPLICABLE,
            **{name: NOT_APPLICABLE for name in CHECKS}, "downtime_s": None, "conflicts_409": None,
            "updates_lost": None, "updates_duplicated": None, "overlap_s": None}  # fmt: skip


def cell(r: dict[str, Any]) -> str:
    """Figures only for a run that can be trusted: an error or a cut-short run says so instead."""
    if r["status"] == NOT_APPLICABLE:
        return NOT_APPLICABLE
    if r["status"] == "error":
        return "**ERROR**: the bot never worked"
    if r["status"].endswith("(cut short)"):
        return f"**{r['status'].split()[0]}: cut short**"
    pollers = "1 poller" if r["single_poller"] == "pass" else "**2 pollers**"
    live = "live" if r["liveness"] == "pass" else f"**{r['liveness']}**"
    ok = r["lost_updates"] == r["duplicates"] == "pass"
    updates = "ok" if ok else f"lost {r['updates_lost']} dup {r['updates_duplicated']}"
    return f"{pollers} / {live} / {updates} / {r['downtime_s']:.0f}s, {r['conflicts_409']}×409"


SHORT = {"single_poller": "sp", "liveness": "live", "lost_updates": "lost", "duplicates": "dup"}
LEGEND = ("PASS or **FAIL** with the checks that failed (sp: two pollers at once; live: not exactly one poller once the deploy settled; "
          "lost N, dup N: updates), then 409s and seconds without a poller (webhook columns: seconds nobody answered "
          "Telegram's POSTs; n/a: the preset routes no HTTP).")  # fmt: skip


def short_cell(r: dict[str, Any]) -> str:
    """``cell`` for a wide table: the status first, the failed checks, the 409s and the downtime."""
    if r["status"] in ("error", NOT_APPLICABLE) or r["status"].endswith("(cut short)"):
        return cell(r)
    if r["status"] != "fail":
        return f"{r['status'].upper()}, {r['conflicts_409']}×409, {r['downtime_s']:.0f}s"
    counts = {"lost_updates": r["updates_lost"], "duplicates": r["updates_duplicated"]}
    failed = [SHORT[c] + (f" {counts[c]}" if c in counts else "") for c in CHECKS if r[c] != "pass"]
    return f"**FAIL** {'+'.join(failed)}, {r['conflicts_409']}×409, {r['downtime_s']:.0f}s"


def markdown(table: list[dict[str, Any]] | None = None) -> str:
    """One line per platform, one column per policy (both in the rows' order); default: both frameworks' tables.

    Rows of one framework alone give one table of ``cell``s, as the first matrix did; rows of
    both give a headed table each, with ``short_cell``s and the legend."""
    table = rows(framework="both") if table is None else table
    frameworks = list(dict.fromkeys(r["framework"] for r in table if r["framework"]))
    if frameworks in ([], ["ptb"]) and not any(r["policy"] in PRACTICES for r in table):
        return _table(table, cell)  # simbot's policies (and your bots): the first matrix, as it was
    parts = [f"### {FRAMEWORKS[f]}\n\n" + _table([r for r in table if r["framework"] == f], short_cell)
             for f in frameworks]  # fmt: skip
    return "\n".join(parts) + "\n" + LEGEND + "\n"


def _table(table: list[dict[str, Any]], show: Callable[[dict[str, Any]], str]) -> str:
    policies = list(dict.fromkeys(r["policy"] for r in table))
    platforms = list(dict.fromkeys(r["platform"] for r in table))
    by_cell = {(r["platform"], r["policy"]): r for r in table}
    lines = ["| preset | " + " | ".join(policies) + " |", "|---" * (len(policies) + 1) + "|"]
    for platform in platforms:
        lines.append(f"| {platform} | " + " | ".join(show(by_cell[platform, p]) for p in policies) + " |")
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
