"""Fixtures: a fake Telegram server, and deploy simulations judged in one call."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import respx

from fake_telegram import FakeTelegram, mocked

DEFAULT_EVENTS: tuple[tuple[float, str], ...] = ((0.0, "start"), (60.0, "deploy"))


# -- the fake server ----------------------------------------------------------------


@pytest.fixture
def fake_telegram() -> FakeTelegram:
    """A fresh fake Bot API server (seed 0) on the running loop's clock."""
    return FakeTelegram(seed=0)


@pytest.fixture
def telegram_mock(fake_telegram: FakeTelegram) -> Iterator[respx.MockRouter]:
    """Route https://api.telegram.org to ``fake_telegram``; nothing else may be requested."""
    with mocked(fake_telegram) as router:
        yield router


# -- simulations ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SimulationResult:
    """One judged run: ``verdict`` (``simbot.check.Verdict``), ``trace``, and the ``scenario`` it ran (if any)."""

    verdict: Any
    trace: Any
    scenario: Any = None
    _repro_dir: Callable[[], Path] | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        """The verdict is PASS: no checker failed or was undecided, the run was whole and the bot worked."""
        return bool(self.verdict.passed)

    @property
    def status(self) -> str:
        """PASS, FAIL, INCONCLUSIVE or ERROR; ``verdict.reason`` says why."""
        return str(self.verdict.status)

    @property
    def metrics(self) -> dict[str, Any]:
        return self.verdict.metrics  # type: ignore[no-any-return]

    def outcome(self, check: str) -> str:
        return self.verdict.outcome(check)  # type: ignore[no-any-return]

    def outcomes(self) -> dict[str, str]:
        return {name: self.verdict.outcome(name) for name in self.verdict.checks}

    def timeline(self, width: int = 90) -> str:
        from ..report import timeline

        return timeline(self.trace, width)

    def report(self) -> str:
        """What ``simbot replay`` prints: the description, the timeline and the verdict."""
        head = [self.scenario.description.strip()] if self.scenario is not None and self.scenario.description else []
        return "\n".join([*head, self.timeline(), "", self.verdict.describe()])

    def assert_passes(self) -> None:
        """Fail the test, with the timeline, unless the verdict is PASS (an ERROR or a cut-short run never is)."""
        __tracebackhide__ = True
        from ..scenario import mismatches

        differs = mismatches(self.verdict, {})
        if differs:
            raise AssertionError(self._failure(differs, {}))

    def assert_outcomes(self, **expected: str) -> None:
        """Fail the test, with the timeline, unless each named checker gave that outcome (pass/fail/inconclusive).

        ``status="error"`` (or pass, fail, inconclusive) also asserts the verdict's status; without it
        an ERROR or a cut-short run fails the assertion whatever the outcomes."""
        __tracebackhide__ = True
        from ..check import CHECKS, STATUSES
        from ..scenario import mismatches

        unknown = sorted(set(expected) - {*CHECKS, "status"})
        if unknown:
            raise TypeError(f"assert_outcomes: no checker {', '.join(unknown)}; the checkers are {', '.join(CHECKS)} "
                            "(and status)")  # fmt: skip
        if "status" in expected and expected["status"].upper() not in STATUSES:
            raise TypeError(f"assert_outcomes: status: expected one of {', '.join(s.lower() for s in STATUSES)}, "
                            f"got {expected['status']!r}")  # fmt: skip
        differs = mismatches(self.verdict, expected)
        if differs:
            raise AssertionError(self._failure(differs, expected))

    def _failure(self, differs: list[str], expected: dict[str, str]) -> str:
        v = self.verdict
        lines = ["the simulation differs from what the test expects:", *(f"  {d}" for d in differs),
                 f"  (verdict {v.status}: {v.reason})", "", self.report()]  # fmt: skip
        repro = self._write_repro(expected)
        if repro is not None:
            lines += ["", f"reproduce: simbot replay {repro}"]
        return "\n".join(lines)

    def _write_repro(self, expected: dict[str, str]) -> Path | None:
        from ..scenario import save

        s = self.scenario
        if s is None or self._repro_dir is None or not all(isinstance(v, str | None) for v in (s.bot.startup, s.bot.entry)):
            return None  # a start-up given as an object, not an import path: no file can name it
        path = self._repro_dir() / "scenario.toml"
        # scenario files have no [expect] status key yet: an error or a cut still differs on replay
        save(dataclasses.replace(s, expect={k: v for k, v in expected.items() if k != "status"}), path)
        return path


class SimbotRunner:
    """The ``simbot_run`` fixture: ``simbot_run(platform, **keywords)`` builds a scenario, runs it, judges it.

    ``scenario(...)`` only builds (and validates, as a scenario file is validated);
    ``replay(scenario_or_path)`` runs one; ``judge(trace)`` wraps a trace you ran yourself.
    """

    def __init__(self, repro_dir: Callable[[], Path] | None = None, base: Path | None = None):
        self._repro_dir = repro_dir
        self.base = base  # what ``script`` is relative to: the test file's folder

    def __call__(self, platform: str, **keywords: Any) -> SimulationResult:
        __tracebackhide__ = True
        return self.replay(self.scenario(platform, **keywords))

    def scenario(
        self, platform: str, *, policy: str | None = None, startup: str | Callable[..., Any] | None = None,
        entry: str | Callable[..., Any] | None = None, params: dict[str, Any] | None = None,
        script: str | os.PathLike[str] | None = None, module: str | None = None, main: str | None = None,
        env: dict[str, str] | None = None, events: Iterable[Any] = DEFAULT_EVENTS, updates_every: float | None = 10.0,
        updates_at: Sequence[float] = (),
        seed: int = 0, horizon: float | None = None, overrides: dict[str, Any] | None = None,
        latency: tuple[float, float] = (0.0, 0.0), drop: float = 0.0, store_latency: tuple[float, float] = (0.0, 0.0),
        store_outages: Sequence[tuple[float, float]] = (), description: str = "", redis: bool = False,
    ) -> Any:  # fmt: skip
        """A validated ``Scenario``. The bot: exactly one of ``policy`` (with ``params``), ``startup``
        (``async (app) -> None``, an import path or the function), ``entry``, or your bot as it is written:
        ``script`` (a path relative to the test file's folder), ``module`` (run as ``python -m``) or ``main``
        (``package.module:function``, called without arguments); ``env``: added to each process's
        environment (the token variables are set for you: docs/scenarios.md). ``events``: ``(at, kind)``,
        ``(at, kind, {params})`` or ``Event`` objects; default: start at 0 s, deploy at 60 s. ``horizon``:
        default, long after the last event's rollout settles (as in ``simbot.matrix``). ``redis``: a Redis shared
        by every process at ``redis:6379`` (``[services] redis = true``)."""
        __tracebackhide__ = True
        from ..matrix import settled_horizon
        from ..platforms import PRESETS
        from ..scenario import Bot, ScenarioError, parse
        from ..scenario.files import shape
        from ..scenario.platform import platform_values

        (startup_name, startup_obj), (entry_name, entry_obj) = _import_path(startup), _import_path(entry)
        bot = {k: v for k, v in (("policy", policy), ("startup", startup_name), ("entry", entry_name),
                                 ("script", None if script is None else os.fspath(script)), ("module", module),
                                 ("main", main)) if v is not None}  # fmt: skip
        objects = startup_obj is not None or entry_obj is not None
        if objects and len(bot) == 1 and not params:
            bot = {"policy": "naive"}  # validates the rest; the object replaces it below
        if env is not None:
            bot["env"] = env
        data: dict[str, Any] = {
            "description": description, "seed": seed, "horizon": horizon,
            "platform": {"preset": platform, **(overrides or {})}, "bot": {**bot, **({"params": params} if params else {})},
            "network": {"latency": list(latency), "drop": drop},
            "store": {"latency": list(store_latency), "outages": [list(w) for w in store_outages]},
            "events": [_event(e) for e in events],
            "updates": {"at": list(updates_at), **({"every": updates_every} if updates_every else {})},
            **({"services": {"redis": True}} if redis else {}),
        }  # fmt: skip
        try:
            if horizon is None:  # derived from the validated platform and events, then everything is checked with it
                s = shape(data, source="simbot_run", base=self.base)
                p = dataclasses.replace(PRESETS[s.platform], **platform_values(s.platform_overrides))
                last = max([0.0, *(e.at + e.params.get("seconds", 0) for e in s.events),
                            *(e.params["until"] for e in s.events if e.params.get("until") is not None)])  # fmt: skip
                data["horizon"] = settled_horizon(p, last)
            s = parse(data, source="simbot_run", base=self.base)
        except ScenarioError as exc:
            problem = str(exc)
        else:
            problem = ""
        if problem:
            pytest.fail(problem, pytrace=False)
        if objects:  # not importable by name: the scenario runs the object itself
            s = dataclasses.replace(s, bot=Bot(policy=None, startup=startup_obj, entry=entry_obj, env=s.bot.env))  # type: ignore[arg-type]
        return s

    def replay(self, scenario: Any) -> SimulationResult:
        """Run a ``Scenario`` (or a scenario file's path) and judge it."""
        from ..check import judge
        from ..scenario import load, simulate

        if isinstance(scenario, str | os.PathLike):
            scenario = load(scenario)
        trace = simulate(scenario)
        return SimulationResult(judge(trace), trace, scenario, self._repro_dir)

    def judge(self, trace: Any) -> SimulationResult:
        """Judge a trace from a ``Simulation`` you built and ran yourself."""
        from ..check import judge

        return SimulationResult(judge(trace), trace)


def _import_path(target: str | Callable[..., Any] | None) -> tuple[str | None, Callable[..., Any] | None]:
    """(the name a scenario file can hold, the object to run when no name reaches it)."""
    if target is None or isinstance(target, str):
        return target, None
    from ..sim.entry import load

    name = f"{target.__module__}:{target.__qualname__}"
    try:
        if load(name) is target:
            return name, None
    except ValueError:
        pass
    return "<object>:unnamed", target  # what a conflicting bot.* error names


def _event(e: Any) -> dict[str, Any]:
    from ..scenario import Event

    if isinstance(e, Event):
        return {"at": e.at, "kind": e.kind, **e.params}
    if isinstance(e, dict):
        return dict(e)
    at, kind, *rest = e
    return {"at": at, "kind": kind, **(rest[0] if rest else {})}


@pytest.fixture
def simbot_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SimbotRunner:
    """Run a deploy scenario and judge it: ``simbot_run("render_worker", policy="lease").assert_passes()``."""
    name = re.sub(r"\W", "_", request.node.name)[:40]
    return SimbotRunner(lambda: tmp_path_factory.mktemp(name), Path(request.path).parent)


@pytest.fixture
def simulation() -> Iterator[Callable[..., Any]]:
    """``simulation(horizon=300, seed=0, ...)``: a fresh ``simbot.sim.simulation.Simulation``; unrun ones are cleaned up."""
    from ..sim.simulation import Simulation

    made: list[Simulation] = []

    def make(**kwargs: Any) -> Simulation:
        sim = Simulation(**{"seed": 0, **kwargs})
        made.append(sim)
        return sim

    yield make
    for sim in made:
        sim.discard()
