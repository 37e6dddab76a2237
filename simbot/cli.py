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
    _add_check(commands)
    demo = commands.add_parser("demo", help="run the reference scenario: a Render worker deploy of two real PTB bots")
    demo.add_argument("--seed", type=int, default=0, help="scenario seed (default: 0)")
    demo.add_argument("--trace", metavar="FILE", help="also write the trace as JSON lines to FILE")
    demo.add_argument("--html", metavar="OUT", help="also write the timeline and verdict as a self-contained HTML page")
    matrix = commands.add_parser("matrix", help="start-up policies × platform presets, one deploy each: the README's table; "
                                 "exit 1 when a cell cannot be trusted (ERROR, INCONCLUSIVE, cut short)")  # fmt: skip
    matrix.add_argument("--framework", metavar="ptb|aiogram|both",
                        help="a table per framework: its plain bot, the practices of docs/practices.md and simbot's "
                             "policies (default: simbot's four python-telegram-bot policies)")
    matrix.add_argument("--policies", metavar="A,B", help="comma-separated policies, or with --framework the columns "
                        "(default: all)")
    matrix.add_argument("--platforms", metavar="X,Y", help="comma-separated platform presets (default: all)")
    matrix.add_argument("--format", choices=("md", "csv", "json"), default="md", help="output format (default: md)")
    matrix.add_argument("--seed", type=int, default=1, help="scenario seed (default: 1)")
    matrix.add_argument("--progress", action="store_true", help="report each cell on stderr as it runs")
    matrix.add_argument("--bot", action="append", default=[], metavar="TARGET",
                        help="also a column for your bot (repeatable): a script, '-m package.module' or "
                             "package.module:function; alone unless --policies is given")  # fmt: skip
    matrix.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="set in the environment of --bot's processes (repeatable)")
    explore = commands.add_parser("explore", help="search scenarios (hypothesis) for one that fails a checker; "
                                  "write it shrunk as a scenario file; exit 1 if found, 0 if none")  # fmt: skip
    explore_bot = explore.add_mutually_exclusive_group(required=True)
    explore_bot.add_argument("--policy", metavar="NAME|module:function",
                             help="a start-up policy name, or your own async (Application) -> None start-up")
    explore_bot.add_argument("--bot", metavar="TARGET", help="your bot as it is written: a script (bot.py), "
                             "'-m package.module' or package.module:function (see simbot check --help)")  # fmt: skip
    explore.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                         help="set in the environment of the bot's processes (repeatable)")
    explore.add_argument("--platform", required=True, metavar="PRESET", help="a platform preset, e.g. render_worker")
    explore.add_argument("--examples", type=int, default=200, metavar="N", help="scenarios to generate (default: 200)")
    explore.add_argument("--budget-seconds", type=float, default=300.0, metavar="N",
                         help="stop searching after N real seconds (default: 300)")
    explore.add_argument("--seed", type=int, default=0, help="search seed: the same seed and N give the same result")
    explore.add_argument("--jobs", type=int, default=1, metavar="N", help="worker processes (default: 1)")
    explore.add_argument("--cluster", metavar="ADDRESS|local:N", help="run the chunks on Dask distributed: a scheduler "
                         "address (tcp://host:8786) or local:N worker processes; needs simbot[cluster]")
    explore.add_argument("--out", default="counterexamples", metavar="DIR",
                         help="where the counterexample's scenario file goes (default: counterexamples/)")
    explore.add_argument("--faults", metavar="A,B", help=_fault_help())
    explore.add_argument("--schedules", default="pct", metavar="fifo|random|pct", help=_schedules_help())
    explore.add_argument("--redis", action="store_true", help="a shared Redis on the run's network for the bot "
                         "(REDIS_URL=redis://redis:6379/0), as simbot check --redis")  # fmt: skip
    replay = commands.add_parser("replay", help="rerun a scenario file: verdict and timeline; exit 1 if it differs from [expect]")
    replay.add_argument("file", help="a scenario file (TOML)")
    replay.add_argument("--json", action="store_true", help="print the verdict as JSON instead of text")
    replay.add_argument("--trace", metavar="FILE", help="also write the trace as JSON lines to FILE")
    replay.add_argument("--html", metavar="OUT", help="also write the timeline and verdict as a self-contained HTML page")
    replay.add_argument("--schedules-upto", type=int, metavar="K",
                        help="instead of one run: every schedule with at most K deviations from FIFO, until one fails "
                             "(written to --out as a scenario file; exit 1) or all pass (exit 0)")  # fmt: skip
    replay.add_argument("--max-runs", type=int, metavar="N",
                        help="with --schedules-upto: stop after N runs and say it did (default: 10000)")
    replay.add_argument("--out", metavar="DIR",
                        help="with --schedules-upto: where a failing schedule's scenario file goes (default: counterexamples/)")
    args = parser.parse_args(argv)
    if args.command == "check":
        from .checking import command as check

        return check(args.target, module=args.module, policy=args.policy, platforms=args.platform, env=args.env,
                     seed=args.seed, as_json=args.json, html=args.html, redis=args.redis,
                     public_url=args.public_url)  # fmt: skip
    if args.command == "demo":
        return _demo(args.seed, args.trace, args.html)
    if args.command == "matrix":
        return _matrix(args.policies, args.platforms, args.format, args.seed, args.progress, args.bot, args.env,
                       args.framework)
    if args.command == "explore":
        from .explore.command import command

        return command(args.policy, args.platform, examples=args.examples, seed=args.seed, budget=args.budget_seconds,
                       jobs=args.jobs, out=args.out, faults=args.faults, target=args.bot, env=args.env,
                       schedules=args.schedules, cluster=args.cluster, redis=args.redis)  # fmt: skip
    if args.command == "replay" and args.schedules_upto is not None:
        from .explore.systematic import command as every_schedule

        others = [name for name, given in (("--json", args.json), ("--trace", args.trace), ("--html", args.html)) if given]
        return every_schedule(args.file, args.schedules_upto, max_runs=args.max_runs, out=args.out, refused=others)
    if args.command == "replay":
        if args.max_runs is not None or args.out is not None:
            print(f"simbot replay: {'--max-runs' if args.max_runs is not None else '--out'}: only with --schedules-upto K",
                  file=sys.stderr)  # fmt: skip
            return 2
        return _replay(args.file, args.json, args.trace, args.html)
    return 2  # pragma: no cover


CHECK_DESCRIPTION = """\
Run your bot as it is written through a deploy on each platform (start at 0 s, a deploy at 60 s,
an update every 10 s), print each platform's timeline and verdict. Exit 0 when every verdict is
PASS, 1 when any is not (FAIL, INCONCLUSIVE or ERROR: a run that cannot be trusted never passes),
2 for bad input.

TARGET is one of:
  bot.py                     a script (a path ending in .py, or any existing file), run as __main__
  -m package.module          a module, as python -m runs it (found from the working directory)
  package.module:function    a function called without arguments (your main(), sync or async),
                             or an async function of one parameter: simbot's instance entry point
                             (decided from the function's definition, read without running it)
or --policy NAME|module:function: a start-up policy, or your own async (Application) -> None.
"""


def _add_check(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from .checking import TOKEN_HELP

    check = commands.add_parser("check", help="run your bot as it is written through a deploy on each platform",
                                description=CHECK_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    check.add_argument("target", nargs="?", metavar="TARGET", help="bot.py, or package.module:function")
    check.add_argument("-m", dest="module", metavar="MODULE", help="run the module as python -m does")
    check.add_argument("--policy", metavar="NAME|module:function", help="a start-up policy instead of a TARGET")
    check.add_argument("--platform", metavar="P[,P...]", help="platform presets (default: every preset)")
    check.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                       help="set in each process's environment (repeatable); " + TOKEN_HELP)
    check.add_argument("--seed", type=int, default=0, help="scenario seed (default: 0)")
    check.add_argument("--redis", action="store_true", help="a shared Redis on the run's network at redis:6379 "
                       "(REDIS_URL=redis://redis:6379/0 in each process's environment; localhost stays each "
                       "machine's own); needs simbot[redis]")  # fmt: skip
    check.add_argument("--public-url", metavar="URL", help="a webhook bot's own address, e.g. https://my-bot.onrender.com: "
                       "the web presets route it to the bot (default: the preset's, in WEBHOOK_URL)")  # fmt: skip
    check.add_argument("--json", action="store_true", help="print one JSON object on stdout and nothing else")
    check.add_argument("--html", metavar="DIR", help="also write one page per platform: DIR/PRESET.html")


def _fault_help() -> str:
    from .explore.command import FAULT_HELP

    return FAULT_HELP


def _schedules_help() -> str:
    from .explore.command import SCHEDULES_HELP

    return SCHEDULES_HELP


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

    from .report import bot_output, timeline
    from .scenario import ScenarioError, load, replay

    try:
        scenario = load(file)
    except ScenarioError as exc:
        print(f"simbot replay: {exc}", file=sys.stderr)
        return 2
    try:
        trace, verdict, differs = replay(scenario)
    except NotImplementedError as exc:  # a target kind this build cannot run: say so, never a traceback
        print(f"simbot replay: {file}: bot: this simbot cannot run this kind of target yet ({exc})", file=sys.stderr)
        return 2
    printed = bot_output(trace)
    if printed:  # stderr: what the bot printed is the user's to read, not part of the verdict
        print("-- what the bot printed (virtual seconds, instance, | stdout ! stderr)", file=sys.stderr)
        print("\n".join(printed), file=sys.stderr, flush=True)
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


def _matrix(policies: str | None, platforms: str | None, fmt: str, seed: int, progress: bool,
            targets: tuple[str, ...] | list[str] = (), env: tuple[str, ...] | list[str] = (),
            framework: str | None = None) -> int:  # fmt: skip
    """Exit 2 for an unknown policy, platform or bot (the message names the argument and what was expected)."""
    import contextlib

    from . import matrix
    from .checking import BadInput, resolve

    def report(done: int, total: int, policy: str, platform: str) -> None:
        print(f"[{done + 1}/{total}] {policy} on {platform}", file=sys.stderr, flush=True)

    try:
        bots = [(t, resolve(t, None, None, env)) for t in targets]
        if env and not targets:
            raise BadInput("--env", "a --bot to give it to (the policies read only the simulation's token)")
    except BadInput as exc:
        print(f"simbot matrix: {'--bot' if exc.argument == 'TARGET' else exc.argument}: {exc.problem}", file=sys.stderr)
        return 2
    try:
        with contextlib.redirect_stdout(sys.stderr):  # a bot's own prints never mix into the table
            table = matrix.rows(None if policies is None else policies.split(","),
                                None if platforms is None else platforms.split(","), seed, report if progress else None,
                                bots, framework)  # fmt: skip
    except matrix.SelectionError as exc:
        print(f"simbot matrix: --{exc.parameter}: {exc.problem}", file=sys.stderr)
        return 2
    except NotImplementedError as exc:
        print(f"simbot matrix: --bot: this simbot cannot run this kind of target yet ({exc})", file=sys.stderr)
        return 2
    print(matrix.render(table, fmt), end="")
    untrusted = [r for r in table if r["status"] in ("error", "inconclusive") or r["status"].endswith("(cut short)")]
    for r in untrusted:
        where = f"{r['framework']} {r['policy']}" if framework is not None else r["policy"]
        print(f"simbot matrix: {where} on {r['platform']}: {r['status'].upper()}, not a verdict on its start-up",
              file=sys.stderr)  # fmt: skip
    return 1 if untrusted else 0  # a table with a cell that cannot be trusted is no all-clear


if __name__ == "__main__":
    sys.exit(main())
