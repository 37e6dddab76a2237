"""``simbot check TARGET``: the bot you already have, through a deploy on each platform, judged.

Each platform runs the default deploy scenario (``matrix.deploy_scenario``: start at 0 s, a
deploy at 60 s, an update every 10 s, until the rollout has long settled), and prints its
timeline and verdict. Exit 0 when every platform's verdict is PASS, 1 when any is not
(FAIL, INCONCLUSIVE or ERROR: a run that cannot be trusted is never a pass), 2 for bad input.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .check import CHECKS, INCONCLUSIVE, PASS, Verdict, judge
from .platforms import PRESETS
from .scenario import Bot, Scenario
from .scenario.targets import TARGET_FORMS, TOKEN_VARS, TargetError, bot_for, check_module, parse_env_items
from .sim.trace import Trace

TOKEN_HELP = (f"the bot's token: {', '.join(TOKEN_VARS)} are set to the simulation's token unless --env gives them; "
              "a bot that sends another token is answered 401 Unauthorized and the verdict says so")  # fmt: skip


class BadInput(ValueError):
    """A command-line argument that cannot be used: ``argument`` names it, the message says what was expected."""

    def __init__(self, argument: str, problem: str):
        super().__init__(f"{argument}: {problem}")
        self.argument, self.problem = argument, problem


@dataclass
class PlatformRun:
    """One platform's judged run; ``failure`` when the simulation itself broke (then there is no verdict)."""

    platform: str
    scenario: Scenario
    trace: Trace | None = None
    verdict: Verdict | None = None
    notes: list[str] = field(default_factory=list)
    failure: str | None = None
    not_run: str | None = None  # why this platform was not simulated at all

    @property
    def status(self) -> str:
        if self.not_run is not None:
            return INCONCLUSIVE
        return "ERROR" if self.verdict is None else self.verdict.status

    @property
    def reason(self) -> str:
        if self.not_run is not None:
            return self.not_run
        if self.verdict is None:
            return f"the simulation itself failed: {self.failure}"
        return self.verdict.reason

    def to_json(self) -> dict[str, Any]:
        v = self.verdict
        if self.not_run is not None:
            return {"status": "inconclusive", "reason": self.reason, "outcomes": dict.fromkeys(CHECKS, "inconclusive"),
                    "metrics": {}, "crashes": [], "findings": [], "cut_short": None, "not_run": True, "notes": []}  # fmt: skip
        if v is None:
            return {"status": "error", "reason": self.reason, "outcomes": dict.fromkeys(CHECKS, "error"),
                    "metrics": {}, "crashes": [], "findings": [], "cut_short": None, "notes": self.notes}  # fmt: skip
        whole = v.to_json()
        return {"status": whole["status"], "reason": v.reason, "outcomes": {n: v.outcome(n) for n in v.checks},
                "metrics": whole["metrics"], "crashes": whole["crashes"], "findings": whole["findings"],
                "cut_short": whole["cut_short"], "digest": whole["digest"], "notes": self.notes}  # fmt: skip


def resolve(target: str | None, module: str | None, policy: str | None, env_items: Sequence[str]) -> Bot:
    """The bot the arguments name: exactly one of TARGET, ``-m`` and ``--policy``; ``BadInput`` otherwise."""
    try:
        env = parse_env_items(env_items)
    except TargetError as exc:
        raise BadInput("--env", str(exc)) from None
    given = [name for name, value in (("TARGET", target), ("-m", module), ("--policy", policy)) if value is not None]
    if len(given) != 1:
        raise BadInput(" / ".join(given) if given else "TARGET",
                       f"exactly one bot: {TARGET_FORMS}; or --policy NAME|module:function for a start-up")  # fmt: skip
    if policy is not None:
        from .explore.command import bot_from

        try:
            bot = bot_from(policy)
        except ValueError as exc:
            raise BadInput("--policy", str(exc)) from None
        return Bot(policy=bot.policy, startup=bot.startup, env=env)
    try:
        if module is not None:
            return Bot(policy=None, module=check_module(module), env=env)
        return bot_for(str(target), env)
    except TargetError as exc:
        raise BadInput("-m" if module is not None else "TARGET", str(exc)) from None


def platforms_from(text: str | None) -> list[str]:
    """``--platform P[,P…]``, checked; default every preset."""
    if text is None:
        return sorted(PRESETS)
    chosen = list(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [p for p in chosen if p not in PRESETS]
    if not chosen or unknown:
        got = f"unknown {', '.join(map(repr, unknown))}; " if unknown else "no preset given; "
        raise BadInput("--platform", f"{got}expected one or more of {', '.join(sorted(PRESETS))}")
    return chosen


def run_platform(bot: Bot, platform: str, seed: int, services: tuple[str, ...] = (),
                 public_url: str | None = None) -> PlatformRun:  # fmt: skip
    """The default deploy scenario of ``bot`` on ``platform`` (with the shared ``services``, and on web
    presets at ``public_url``), judged."""
    from .matrix import deploy_scenario
    from .platforms.routing import routing_for
    from .scenario.run import build, foreign_tokens

    web = public_url if routing_for(platform) is not None else None  # a worker has no address
    run = PlatformRun(platform, dataclasses.replace(deploy_scenario(bot, platform, seed), services=services,
                                                    public_url=web))  # fmt: skip
    sim = build(run.scenario)  # NotImplementedError (a target this simbot cannot run) is the caller's
    try:
        run.trace = sim.run()
    except Exception as exc:  # simbot's own failure: never a verdict, certainly not a pass
        run.failure = f"{type(exc).__name__}: {exc}"
        return run
    run.verdict = judge(run.trace)
    for token in foreign_tokens(sim):
        shown = token.split(":", 1)[0] + ":…"
        run.notes.append(f"the bot sent requests with the token {shown}, not the simulation's; each was answered "
                         f"401 Unauthorized. simbot sets {', '.join(TOKEN_VARS)} to its token; if your bot reads "
                         f"another variable, pass --env THAT_VARIABLE={sim.token}; if it loads a .env file that "
                         f"overrides the environment (load_dotenv(override=True)), let the environment win or "
                         f"run it from a folder without that .env")  # fmt: skip
    return run


@contextlib.contextmanager
def _stdout_to(stream: TextIO) -> Iterator[None]:
    """While bots run, whatever reaches ``sys.stdout`` goes to ``stream`` (``--json`` keeps stdout pure)."""
    with contextlib.redirect_stdout(stream):
        yield


def command(target: str | None, *, module: str | None = None, policy: str | None = None, platforms: str | None = None,
            env: Sequence[str] = (), seed: int = 0, as_json: bool = False, html: str | None = None,
            out: TextIO | None = None, err: TextIO | None = None, redis: bool = False,
            public_url: str | None = None) -> int:  # fmt: skip
    """``simbot check``: exit 0 when every platform's verdict is PASS, 1 when any is not, 2 for bad input."""
    out, err = out or sys.stdout, err or sys.stderr
    shown = f"-m {module}" if module is not None else f"--policy {policy}" if policy is not None else str(target)
    try:
        bot = resolve(target, module, policy, env)
        chosen = platforms_from(platforms)
        if isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise BadInput("--seed", f"a non-negative 64-bit integer, got {seed}")
        folder = _html_folder(html)
        services = _services(redis)
        url = _public_url(public_url)
    except BadInput as exc:
        print(f"simbot check: {exc.argument}: {exc.problem}", file=err)
        return 2
    runs: list[PlatformRun] = []
    hung: PlatformRun | None = None
    for i, platform in enumerate(chosen):
        if hung is not None:
            runs.append(_not_run(hung, platform, seed, bot))
            if not as_json:
                _print_run(runs[-1], out)
            continue
        if as_json and err.isatty():
            print(f"simbot check: [{i + 1}/{len(chosen)}] {platform}", file=err, flush=True)
        try:
            with _stdout_to(err if as_json else out):
                run = run_platform(bot, platform, seed, services, url)
        except NotImplementedError as exc:
            print(f"simbot check: {shown}: this simbot cannot run this kind of target yet ({exc})", file=err)
            return 2
        runs.append(run)
        if _hung_before_anything(run):
            hung = run
        _print_output(run, err)
        if not as_json:
            _print_run(run, out)
        if folder is not None and run.trace is not None and run.verdict is not None:
            _write_html(folder / f"{platform}.html", run, shown, err)
    if as_json:
        report = {"target": shown, "seed": seed, "env": sorted(bot.env), "passed": all(r.status == PASS for r in runs),
                  "platforms": {r.platform: r.to_json() for r in runs}}  # fmt: skip
        if services:
            report["services"] = list(services)  # the run had them: its verdicts are those of a bot with a Redis
        print(json.dumps(report, indent=2, sort_keys=True), file=out)
    else:
        print(_summary(shown, seed, runs, services), file=out)
    return 0 if all(r.status == PASS for r in runs) else 1


def _public_url(url: str | None) -> str | None:
    """``--public-url``: checked as a web preset's ``platform.public_url`` is (render_web: any web preset)."""
    if url is None:
        return None
    from .scenario.platform import checked_public_url
    from .startup.params import ParamError

    try:
        return checked_public_url(url, "render_web", "--public-url")
    except ParamError as exc:
        raise BadInput("--public-url", f"expected {exc.expected}, got {url!r}") from None


def _services(redis: bool) -> tuple[str, ...]:
    """``--redis``: the simulated Redis needs fakeredis (``pip install 'simbot[redis]'``)."""
    if not redis:
        return ()
    try:
        from .sim import redis_service  # noqa: F401
    except ImportError as exc:
        raise BadInput("--redis", f"the simulated Redis needs fakeredis: pip install 'simbot[redis]' ({exc})") from None
    return ("redis",)


def _hung_before_anything(run: PlatformRun) -> bool:
    """Stopped by the watchdog at t=0 before one request: the bot spins in its own start-up code,
    before any platform could make a difference, so every other platform would only spend the
    watchdog's 30 real seconds to say the same."""
    cut = None if run.verdict is None else run.verdict.cut
    return (cut is not None and cut.by.startswith("watchdog") and cut.t == 0.0 and run.trace is not None
            and not run.trace.of("request"))  # fmt: skip


def _not_run(hung: PlatformRun, platform: str, seed: int, bot: Bot) -> PlatformRun:
    from .matrix import deploy_scenario

    why = (f"not run: on {hung.platform} the bot never got past its own start-up code "
           f"({hung.reason.split(': ', 1)[-1]}); nothing a platform does comes before that")  # fmt: skip
    return PlatformRun(platform, deploy_scenario(bot, platform, seed), not_run=why)


def _html_folder(html: str | None) -> Path | None:
    if html is None:
        return None
    folder = Path(html)
    if folder.exists() and not folder.is_dir():
        raise BadInput("--html", f"a folder for one page per platform; {html} is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput("--html", f"a folder that can be created; {html}: {exc.strerror or exc}") from None
    return folder


def _write_html(path: Path, run: PlatformRun, shown: str, err: TextIO) -> None:
    from .report import html_timeline

    assert run.trace is not None and run.verdict is not None
    title = f"simbot check {shown} on {run.platform} (seed {run.scenario.seed}): a deploy at 60 s"
    path.write_text(html_timeline(run.trace, run.verdict, title), encoding="utf-8")
    print(f"wrote {path}", file=err)


def _print_output(run: PlatformRun, err: TextIO) -> None:
    from .report import bot_output

    lines = [] if run.trace is None else bot_output(run.trace)
    if lines:
        print(f"-- {run.platform}: what the bot printed (virtual seconds, instance, | stdout ! stderr)", file=err)
        print("\n".join(lines), file=err, flush=True)


def _print_run(run: PlatformRun, out: TextIO) -> None:
    from .report import timeline

    print(f"== {run.platform}: {run.status}", file=out)
    if run.verdict is None or run.trace is None:
        print(f"  {run.reason}", file=out)
    else:
        print(timeline(run.trace), file=out)
        print(file=out)
        print(run.verdict.describe(), file=out)
    for note in run.notes:
        print(f"  note: {note}", file=out)
    print(file=out)


def _summary(shown: str, seed: int, runs: list[PlatformRun], services: tuple[str, ...] = ()) -> str:
    shared = ", a shared Redis at redis:6379" if "redis" in services else ""
    lines = [f"simbot check {shown} (seed {seed}): start at 0 s, a deploy at 60 s, an update every 10 s{shared}"]
    width = max(len(r.platform) for r in runs)
    for r in runs:
        failed = [] if r.verdict is None else [f"{n} {r.verdict.outcome(n)}" for n in CHECKS
                                               if r.verdict.outcome(n) != "pass"]  # fmt: skip
        detail = ", ".join(failed) if r.status not in (PASS, INCONCLUSIVE) and failed else (r.reason if r.status != PASS else "")
        lines.append(f"  {r.platform:{width}}  {r.status:12} {detail}".rstrip())
    passed = sum(r.status == PASS for r in runs)
    lines.append(f"{passed} of {len(runs)} platforms pass" + ("" if passed == len(runs) else " (exit 1)"))
    return "\n".join(lines)
