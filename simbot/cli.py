"""The ``simbot`` command."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simbot", description="Deterministic simulation of Telegram bot deploys.")
    parser.add_argument("--version", action="version", version=f"simbot {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the reference scenario: a Render worker deploy of two real PTB bots")
    demo.add_argument("--seed", type=int, default=0, help="scenario seed (default: 0)")
    demo.add_argument("--trace", metavar="FILE", help="also write the trace as JSON lines to FILE")
    replay = commands.add_parser("replay", help="rerun a scenario file: verdict and timeline; exit 1 if it differs from [expect]")
    replay.add_argument("file", help="a scenario file (TOML)")
    replay.add_argument("--json", action="store_true", help="print the verdict as JSON instead of text")
    replay.add_argument("--trace", metavar="FILE", help="also write the trace as JSON lines to FILE")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args.seed, args.trace)
    if args.command == "replay":
        return _replay(args.file, args.json, args.trace)
    return 2  # pragma: no cover


def _demo(seed: int, trace_file: str | None) -> int:
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
    return 0


def _replay(file: str, as_json: bool, trace_file: str | None) -> int:
    """Exit 0 when the verdict matches [expect], 1 when it differs, 2 for an invalid file."""
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
    if as_json:
        print(json.dumps({"file": file, "expect": scenario.expect, "matches": not differs, "differences": differs,
                          "verdict": verdict.to_json()}, indent=2, sort_keys=True))  # fmt: skip
    else:
        if scenario.description:
            print(scenario.description.strip())
        print(timeline(trace))
        print()
        print(verdict.describe())
        print()
        print("matches [expect]" if not differs else "differs from [expect]:\n  " + "\n  ".join(differs))
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
