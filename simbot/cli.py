"""The ``simbot`` command."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    from .check import Verdict
    from .sim.trace import Trace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simbot", description="Deterministic simulation of Telegram bot deploys.")
    parser.add_argument("--version", action="version", version=f"simbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the reference scenario: a Render worker deploy of two real PTB bots")
    demo.add_argument("--seed", type=int, default=0, help="scenario seed (default: 0)")
    demo.add_argument("--trace", metavar="FILE", help="also write the trace as JSON lines to FILE")
    demo.add_argument("--html", metavar="OUT", help="also write the timeline and verdict as a self-contained HTML page")
    matrix = commands.add_parser("matrix", help="start-up policies × platform presets, one deploy each: the README's table")
    matrix.add_argument("--policies", metavar="A,B", help="comma-separated policies (default: all four)")
    matrix.add_argument("--platforms", metavar="X,Y", help="comma-separated platform presets (default: all)")
    matrix.add_argument("--format", choices=("md", "csv", "json"), default="md", help="output format (default: md)")
    matrix.add_argument("--seed", type=int, default=1, help="scenario seed (default: 1)")
    matrix.add_argument("--progress", action="store_true", help="report each cell on stderr as it runs")
    explore = commands.add_parser("explore", help="search scenarios (hypothesis) for one that fails a checker; "
                                  "write it shrunk as a scenario file; exit 1 if found, 0 if none")  # fmt: skip
    explore.add_argument("--policy", required=True, metavar="NAME|module:function",
                         help="a start-up policy name, or your own async (Application) -> None start-up")
    explore.add_argument("--platform", required=True, metavar="PRESET", help="a platform preset, e.g. render_worker")
    explore.add_argument("--examples", type=int, default=200, metavar="N", help="scenarios to generate (default: 200)")
    explore.add_argument("--budget-seconds", type=float, default=300.0, metavar="N",
                         help="stop searching after N real seconds (default: 300)")
    explore.add_argument("--seed", type=int, default=0, help="search seed: the same seed and N give the same result")
    explore.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default: 1)")
    explore.add_argument("--out", default="counterexamples", metavar="DIR",
                         help="where the counterexample's scenario file goes (default: counterexamples/)")
    explore.add_argument("--faults", metavar="A,B", help=_fault_help())
    replay = commands.add_parser("replay", help="rerun a scenario file: verdict and timeline; exit 1 if it differs from [expect]")
    replay.add_argument("file", help="a scenario file (TOML)")
    replay.add_argument("--json", action="store_true", help="print the verdict as JSON instead of text")
    replay.add_argument("--trace", metavar="FILE", help="also write the trace as JSON lines to FILE")
    replay.add_argument("--html", metavar="OUT", help="also write the timeline and verdict as a self-contained HTML page")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args.seed, args.trace, args.html)
    if args.command == "matrix":
        return _matrix(args.policies, args.platforms, args.format, args.seed, args.progress)
    if args.command == "explore":
        from .explore.command import command

        return command(args.policy, args.platform, examples=args.examples, seed=args.seed, budget=args.budget_seconds,
                       jobs=args.jobs, out=args.out, faults=args.faults)  # fmt: skip
    if args.command == "replay":
        return _replay(args.file, args.json, args.trace, args.html)
    return 2  # pragma: no cover


def _fault_help() -> str:
    from .explore.command import FAULT_HELP

    return FAULT_HELP


def _demo(seed: int, trace_file: str | None, html_file: str | None = None) -> int:
    from .demo import run
    from .report import timeline

    trace, verdict = run(seed)
    print("Render worker deploy at t=30 s; two python-telegram-bot 22 instances with framework defaults.")
    print(timeline(trace))
    print()
    print(verdict.describe())
    if trace_file:
        with open(trace_file, "w", encoding="utf-8") as out:
            out.write(trace.jsonl())
    if html_file:
        _write_html(html_file, trace, verdict, f"simbot demo (seed {seed}): a Render worker deploy of two PTB bots")
    return 0


def _write_html(path: str, trace: Trace, verdict: Verdict, title: str) -> None:
    from .report import html_timeline

    with open(path, "w", encoding="utf-8") as out:
        out.write(html_timeline(trace, verdict, title))
    print(f"wrote {path}", file=sys.stderr)  # stderr: --json keeps stdout pure JSON


def _replay(file: str, as_json: bool, trace_file: str | None, html_file: str | None = None) -> int:
    """Exit 0 when the verdict matches [expect], 1 when it differs, 2 for an invalid file.

    An ERROR (the bot never worked) or a cut-short run differs unless [expect] names that status."""
    import json

    from .report import timeline
    from .scenario import ScenarioError, load, replay

    try:
        scenario = load(file)
    except ScenarioError as exc:
        print(f"simbot replay: {exc}", file=sys.stderr)
        return 2
    trace, verdict, differs = replay(scenario)
    if trace_file:
        with open(trace_file, "w", encoding="utf-8") as out:
            out.write(trace.jsonl())
    if html_file:
        description = " ".join(scenario.description.split())
        _write_html(html_file, trace, verdict, os.path.basename(file) + (f": {description}" if description else ""))
    if as_json:
        v = verdict.to_json()
        print(json.dumps({"file": file, "expect": scenario.expect, "matches": not differs, "differences": differs,
                          "status": v["status"], "reason": v["reason"], "cut_short": v["cut_short"],
                          "crashes": v["crashes"], "findings": v["findings"], "verdict": v}, indent=2, sort_keys=True))  # fmt: skip
    else:
        if scenario.description:
            print(scenario.description.strip())
        print(timeline(trace))
        print()
        print(verdict.describe())
        print()
        print("matches [expect]" if not differs else "differs from [expect]:\n  " + "\n  ".join(differs))
    return 1 if differs else 0


def _matrix(policies: str | None, platforms: str | None, fmt: str, seed: int, progress: bool) -> int:
    """Exit 2 for an unknown policy or platform (the message lists the known ones)."""
    from . import matrix

    def report(done: int, total: int, policy: str, platform: str) -> None:
        print(f"[{done + 1}/{total}] {policy} on {platform}", file=sys.stderr, flush=True)

    try:
        table = matrix.rows(None if policies is None else policies.split(","),
                            None if platforms is None else platforms.split(","), seed, report if progress else None)  # fmt: skip
    except matrix.SelectionError as exc:
        print(f"simbot matrix: --{exc.parameter}: {exc.problem}", file=sys.stderr)
        return 2
    print(matrix.render(table, fmt), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
