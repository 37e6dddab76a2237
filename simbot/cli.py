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
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args.seed, args.trace)
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


if __name__ == "__main__":
    sys.exit(main())
