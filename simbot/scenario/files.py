"""Scenario files (TOML): loading with errors that say where and what, and writing back.

Loading validates everything before anything runs. A bad file raises
``ScenarioError`` whose message names the file, the key and what was expected.
Writing a scenario and loading it back gives the same scenario.
"""

from __future__ import annotations

import math
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from ..check import CHECKS
from ..check.status import STATUSES as _UPPER
from ..platforms import PRESETS, Platform
from ..sim.schedule import PCT_STEPS, STRATEGIES, Schedule
from ..startup.params import MAX_SECONDS, ParamError, plain
from .limits import MAX_UPDATE_TIMES, check_budget, check_event_param, check_replicas, check_routing
from .model import EVENT_KINDS, OUTCOMES, REQUIRED, SERVICES, Bot, Event, Scenario, Updates
from .platform import checked_platform, checked_public_url, overridable
from .targets import TargetError, check_env, check_main, check_module, check_script

MAX_FILE_BYTES = 1 << 20  # a scenario is a page of TOML; anything near this is not one
SET_PER_INSTANCE = ("lock_dir", "store", "owner")  # the simulation gives each instance its own

STATUSES = tuple(s.lower() for s in _UPPER)  # pass, fail, inconclusive, error
TOP_LEVEL = {"description", "seed", "horizon", "platform", "bot", "network", "store", "events", "updates", "expect",
             "schedule", "services"}  # fmt: skip


class ScenarioError(ValueError):
    """A scenario file that cannot be run, and why."""


class _Reader:
    def __init__(self, source: str, base: Path | None = None):
        self.source = source
        self.base = base  # what bot.script is relative to: the file's folder (default: the working directory)

    def fail(self, key: str, expected: str, got: Any = REQUIRED) -> ScenarioError:
        found = "" if got is REQUIRED else f", got {got!r}"
        return ScenarioError(f"{self.source}: {key}: expected {expected}{found}")

    def table(self, data: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "a table", value)
        for name in value:
            if name not in allowed:
                raise self.fail(f"{key}.{name}", f"one of {', '.join(sorted(allowed))}")
        return value

    def number(self, value: Any, key: str, *, low: float = 0.0, high: float = MAX_SECONDS) -> float:
        """A finite number in [low, high]: NaN and infinities are refused everywhere."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, "a number", value)
        finite = isinstance(value, int) or math.isfinite(value)
        if not finite or not low <= value <= high:
            what = "a number" if finite else "a finite number"
            raise self.fail(key, f"{what} between {plain(low)} and {plain(high)}", value)
        return float(value)

    def pair(self, value: Any, key: str, high: float = MAX_SECONDS) -> tuple[float, float]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise self.fail(key, "[low, high] in seconds", value)
        low, top = (self.number(v, key, high=high) for v in value)
        if low > top:
            raise self.fail(key, "[low, high] with low <= high", value)
        return low, top

    def param(self, error: ParamError, prefix: str = "") -> ScenarioError:
        return self.fail(prefix + error.key, error.expected, error.got if error.got is not ... else REQUIRED)


def parse(data: dict[str, Any], source: str = "<scenario>", base: Path | None = None) -> Scenario:
    """A validated Scenario from parsed TOML: every value typed, finite and in range, every entry importable,
    the run bounded (``limits``). ``bot.script`` is relative to ``base`` (``load``: the file's folder)."""
    return _parse(data, source, budget=True, base=base)


def shape(data: dict[str, Any], source: str = "<scenario>", base: Path | None = None) -> Scenario:
    """What ``parse`` gives for the file with the longest horizon, no updates and no run-size bounds.

    For a caller that derives the horizon from the platform and the events (the pytest
    plugin) and then parses again, with every check, at that horizon.
    """
    probe = {**data, "horizon": MAX_SECONDS, "updates": {}}
    return _parse(probe, source, budget=False, base=base)


def _parse(data: dict[str, Any], source: str, *, budget: bool, base: Path | None = None) -> Scenario:
    r = _Reader(source, base)
    if not isinstance(data, dict):
        raise r.fail("(top level)", "a table of scenario keys", data)
    for key in data:
        if key not in TOP_LEVEL:
            raise r.fail(key, f"one of the keys {', '.join(sorted(TOP_LEVEL))}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise r.fail("seed", "a non-negative 64-bit integer", seed)
    if "horizon" not in data:
        raise r.fail("horizon", "the run's length in virtual seconds")
    horizon = r.number(data["horizon"], "horizon", low=1.0)
    name, overrides, platform = _platform(r, data)
    bot = _bot(r, data)
    network = r.table(data, "network", {"latency", "drop"})
    store = r.table(data, "store", {"latency", "outages", "wipes"})
    outages = store.get("outages", [])
    if not isinstance(outages, list):
        raise r.fail("store.outages", "a list of [start, end] windows", outages)
    wipes = store.get("wipes", [])
    if not isinstance(wipes, list):
        raise r.fail("store.wipes", "a list of times at which the store restarts empty", wipes)
    events = _events(r, data.get("events", []), horizon)
    check_replicas(events, platform, r.fail)
    check_routing(events, name, r.fail)
    updates = _updates(r, data, horizon)
    if budget:
        check_budget(events, platform, horizon, _update_count(updates, horizon), r.fail)
    return Scenario(
        seed=seed,
        horizon=horizon,
        platform=name,
        platform_overrides=overrides,
        bot=bot,
        latency=r.pair(network.get("latency", [0.0, 0.0]), "network.latency", high=horizon),
        drop=r.number(network.get("drop", 0.0), "network.drop", high=1.0),
        store_latency=r.pair(store.get("latency", [0.0, 0.0]), "store.latency", high=horizon),
        store_outages=tuple(r.pair(w, f"store.outages[{i}]", high=horizon) for i, w in enumerate(outages)),
        store_wipes=tuple(r.number(t, f"store.wipes[{i}]", high=horizon) for i, t in enumerate(wipes)),
        events=events,
        updates=updates,
        expect=_expect(r, data),
        description=_text(r, data, "description"),
        schedule=_schedule(r, data),
        services=_services(r, data),
        public_url=_public_url(r, data, name),
    )


def _public_url(r: _Reader, data: dict[str, Any], preset: str) -> str | None:
    url = data.get("platform", {}).get("public_url")
    if url is None:
        return None
    try:
        return checked_public_url(url, preset, "platform.public_url")
    except ParamError as exc:
        raise r.param(exc) from None


def _services(r: _Reader, data: dict[str, Any]) -> tuple[str, ...]:
    """``[services] redis = true``: the shared services the run starts, in SERVICES order."""
    table = r.table(data, "services", set(SERVICES))
    for name, value in table.items():
        if not isinstance(value, bool):
            raise r.fail(f"services.{name}", "true or false", value)
    if table.get("redis"):
        try:
            from ..sim import redis_service  # noqa: F401
        except ImportError as exc:
            raise r.fail("services.redis", f"fakeredis installed: pip install 'simbot[redis]' ({exc})") from None
    return tuple(name for name in SERVICES if table.get(name))


def _text(r: _Reader, data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise r.fail(key, "a string", value)
    return value


def _platform(r: _Reader, data: dict[str, Any]) -> tuple[str, dict[str, Any], Platform]:
    table = r.table(data, "platform", {"preset", "public_url", *overridable()})
    name = table.get("preset")
    if not isinstance(name, str) or name not in PRESETS:
        raise r.fail("platform.preset", f"one of {', '.join(sorted(PRESETS))}", name)
    overrides = {k: v for k, v in table.items() if k not in ("preset", "public_url")}
    try:
        platform = checked_platform(name, overrides)
    except ParamError as exc:
        raise r.param(exc) from None
    return name, overrides, platform


BOT_KEYS = {
    "policy": "a start-up policy name",
    "startup": "'module:function', an async (Application) -> None",
    "entry": "'module:function', an instance entry point",
    "script": "your bot's script, a path relative to this file",
    "module": "your bot's module, run as python -m",
    "main": "'module:function', your bot's main, called without arguments",
}


def _bot(r: _Reader, data: dict[str, Any]) -> Bot:
    table = r.table(data, "bot", {*BOT_KEYS, "params", "env"})
    named = {k: table[k] for k in BOT_KEYS if table.get(k) is not None}
    if len(named) != 1:
        choices = ", ".join(f"bot.{k} ({what})" for k, what in BOT_KEYS.items())
        raise r.fail("bot", f"exactly one of {choices}", sorted(f"bot.{k}" for k in named) if named else REQUIRED)
    [(kind, value)] = named.items()
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise r.fail("bot.params", "a table of the policy's parameters", params)
    try:
        env = check_env(table.get("env", {}))
    except TargetError as exc:
        raise r.fail("bot.env", str(exc)) from None
    if kind == "policy":
        _policy(r, value, params)
    elif params:
        raise r.fail("bot.params", f"no parameters: they are for bot.policy, not bot.{kind}")
    if kind in ("startup", "entry"):
        _entry(r, f"bot.{kind}", value)
    elif kind in ("script", "module", "main"):
        if not isinstance(value, str):
            raise r.fail(f"bot.{kind}", BOT_KEYS[kind], value)
        try:
            if kind == "script":
                value = str(check_script(value, r.base))
            elif kind == "module":
                check_module(value)
            else:
                check_main(value)
        except TargetError as exc:
            raise r.fail(f"bot.{kind}", str(exc)) from None
    return Bot(params=params, env=env, **{"policy": None, kind: value})  # type: ignore[arg-type]


def _policy(r: _Reader, policy: Any, params: dict[str, Any]) -> None:
    from ..startup import LEASES, POLICIES, MemoryStore
    from ..startup import policy as make

    if not isinstance(policy, str) or policy not in POLICIES:
        raise r.fail("bot.policy", f"one of {', '.join(POLICIES)}", policy)
    for name in SET_PER_INSTANCE:
        if name in params:
            raise r.fail(f"bot.params.{name}", "no value: the simulation gives each instance its own "
                                               "(a host-local lock directory, the shared lease store, its name)")  # fmt: skip
    trial = {"store": MemoryStore(), **params} if policy in LEASES else params
    try:
        make(policy, **trial)
    except ParamError as exc:
        raise r.param(exc, "bot.params.") from None
    except ValueError as exc:
        raise r.fail("bot.params", f"parameters of {policy!r} ({exc})") from None


def _entry(r: _Reader, key: str, value: Any) -> None:
    """Import it now: a typo found when the run starts would crash every instance, quietly."""
    if not isinstance(value, str) or value.count(":") != 1:
        raise r.fail(key, "'package.module:function'", value)
    from ..sim.entry import load as load_entry

    try:
        load_entry(value)
    except ValueError as exc:
        raise r.fail(key, f"an importable async function ({exc})") from None
    except Exception as exc:  # importing runs the module's code; whatever it raises, the file named it
        raise r.fail(key, f"a module that imports cleanly ({type(exc).__name__}: {exc})") from None


def _events(r: _Reader, raw: Any, horizon: float) -> tuple[Event, ...]:
    if not isinstance(raw, list):
        raise r.fail("events", "a list of [[events]] tables", raw)
    events: list[Event] = []
    strays: dict[str, int] = {}  # name -> its event: every process needs its own name
    for i, item in enumerate(raw):
        key = f"events[{i}]"
        if not isinstance(item, dict):
            raise r.fail(key, "a table with 'at' and 'kind'", item)
        kind = item.get("kind")
        if kind not in EVENT_KINDS:
            raise r.fail(f"{key}.kind", f"one of {', '.join(EVENT_KINDS)}", kind)
        if "at" not in item:
            raise r.fail(f"{key}.at", "the event's virtual time in seconds")
        at = r.number(item["at"], f"{key}.at", high=horizon)
        spec = EVENT_KINDS[kind]
        params: dict[str, Any] = {}
        for name, value in item.items():
            if name in ("at", "kind"):
                continue
            if name not in spec:
                allowed = ", ".join(["at", "kind", *spec])
                raise r.fail(f"{key}.{name}", f"a parameter of a {kind!r} event ({allowed})")
            if kind == "deploy":
                value = _version(r, f"{key}.{name}", name, value)
            else:
                try:
                    check_event_param(kind, name, value, f"{key}.{name}", at, horizon)
                except ParamError as exc:
                    raise r.param(exc) from None
            params[name] = value
        for name, (_, default) in spec.items():
            if default is REQUIRED and name not in params:
                raise r.fail(f"{key}.{name}", f"a value (a {kind!r} event needs it)")
        if kind == "stray":
            if "entry" in params:  # without one: the bot itself (a script, module or main) or PTB's defaults
                _entry(r, f"{key}.entry", params["entry"])
            stray = params.get("name", spec["name"][1])
            if stray in strays:
                raise r.fail(f"{key}.name", f"a name no other stray has (events[{strays[stray]}] is {stray!r})", stray)
            strays[stray] = i
        events.append(Event(at, kind, params))
    return tuple(events)


def _version(r: _Reader, key: str, name: str, value: Any) -> Any:
    """A deploy's new version: ``script`` (relative to this file, like bot.script) and ``env`` (added to
    the bot's own for the new generation's processes)."""
    try:
        if name == "script":
            if not isinstance(value, str):
                raise TargetError(f"the new version's script, a path relative to this file, got {value!r}")
            return str(check_script(value, r.base))
        return check_env(value)
    except TargetError as exc:
        raise r.fail(key, str(exc)) from None


def _updates(r: _Reader, data: dict[str, Any], horizon: float) -> Updates:
    table = r.table(data, "updates", {"every", "start", "at", "chats"})
    every = table.get("every")
    at = table.get("at", [])
    if not isinstance(at, list):
        raise r.fail("updates.at", "a list of virtual times", at)
    if len(at) > MAX_UPDATE_TIMES:  # before reading each: the count alone is the error
        raise r.fail("updates.at", f"at most {MAX_UPDATE_TIMES} times (~1 ms of real time each)", f"{len(at)} times")
    return Updates(
        every=None if every is None else r.number(every, "updates.every", low=0.001, high=horizon),
        start=r.number(table.get("start", 5.0), "updates.start", high=horizon),
        at=tuple(r.number(t, f"updates.at[{i}]", high=horizon) for i, t in enumerate(at)),
        chats=_chats(r, table.get("chats", 1)),
    )


MAX_CHATS = 1000


def _chats(r: _Reader, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CHATS:
        raise r.fail("updates.chats", f"a whole number of chats from 1 to {MAX_CHATS}", value)
    return value


MAX_DEVIATIONS = 100_000  # a random run of the reference deploy records ~90; far more is not a schedule
MAX_PCT_DEPTH = 100
MAX_PCT_STEPS = 10_000_000
SCHEDULE_KEYS = {"fifo": {"deviations"}, "random": {"seed"}, "pct": {"seed", "depth", "steps"}}


def _schedule(r: _Reader, data: dict[str, Any]) -> Schedule:
    """``[schedule]``: the order of same-instant callbacks (simbot/sim/schedule.py); FIFO when absent."""
    table = r.table(data, "schedule", {"strategy", "seed", "depth", "steps", "deviations"})
    strategy = table.get("strategy", "fifo")
    if strategy not in STRATEGIES:
        raise r.fail("schedule.strategy", f"one of {', '.join(STRATEGIES)}", strategy)
    for key in table:
        if key != "strategy" and key not in SCHEDULE_KEYS[strategy]:
            takes = ", ".join(f"schedule.{k}" for k in sorted(SCHEDULE_KEYS[strategy]))
            raise r.fail(f"schedule.{key}", f"no value with strategy {strategy!r} (it takes {takes})")
    seed = _schedule_integer(r, table, "seed", 0, 0, 2**63 - 1)
    depth = _schedule_integer(r, table, "depth", 2, 1, MAX_PCT_DEPTH)
    steps = _schedule_integer(r, table, "steps", PCT_STEPS, 1, MAX_PCT_STEPS)
    raw = table.get("deviations", [])
    if not isinstance(raw, list):
        raise r.fail("schedule.deviations", "a list of [choice point, pick] pairs", raw)
    if len(raw) > MAX_DEVIATIONS:
        raise r.fail("schedule.deviations", f"at most {MAX_DEVIATIONS} pairs", f"{len(raw)} pairs")
    deviations: list[tuple[int, int]] = []
    for i, pair in enumerate(raw):
        key = f"schedule.deviations[{i}]"
        if (not isinstance(pair, list) or len(pair) != 2
                or any(isinstance(v, bool) or not isinstance(v, int) for v in pair)):  # fmt: skip
            raise r.fail(key, "[choice point, pick]: two integers", pair)
        step, pick = pair
        after = deviations[-1][0] + 1 if deviations else 0
        if not after <= step < 2**63:
            what = f"a choice point after the previous pair's ({after - 1})" if deviations else "a choice point >= 0"
            raise r.fail(key, f"{what}: choice points in increasing order", pair)
        if not 1 <= pick < 2**31:
            raise r.fail(key, "a pick >= 1 (pick 0 is FIFO: leave that choice point out)", pair)
        deviations.append((step, pick))
    return Schedule(strategy, seed=seed, depth=depth, steps=steps, deviations=tuple(deviations))


def _schedule_integer(r: _Reader, table: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise r.fail(f"schedule.{key}", f"an integer at least {low} and at most {high}", value)
    return value


def _update_count(u: Updates, horizon: float) -> int:
    """How many updates ``simulate`` pushes: the ``every`` series before the horizon, plus ``at``."""
    series = 0 if not u.every or u.start >= horizon else math.ceil((horizon - u.start) / u.every)
    return series + len(set(u.at))


def _expect(r: _Reader, data: dict[str, Any]) -> dict[str, str]:
    """Each check's outcome, and optionally the verdict's ``status`` (an ERROR or a cut-short run
    differs from every [expect] that does not name its status: docs/checkers.md)."""
    table = r.table(data, "expect", {*CHECKS, "status"})
    for name, outcome in table.items():
        allowed = STATUSES if name == "status" else OUTCOMES
        if outcome not in allowed:
            raise r.fail(f"expect.{name}", f"one of {', '.join(allowed)}", outcome)
    return dict(table)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    path = Path(path)
    try:
        data = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    return parse(data, str(path), base=path.parent)


def read_text(path: Path) -> str:
    """The file's text, read only if it is a regular file of at most MAX_FILE_BYTES.

    Opened non-blocking and checked on the open descriptor, so a FIFO, a device
    (/dev/zero), a directory or a file swapped for one of them is refused, never waited on.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: a directory, not a scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ScenarioError(f"{path}: a directory, not a scenario file")
        if not stat.S_ISREG(info.st_mode):
            raise ScenarioError(f"{path}: not a regular file (a FIFO, socket or device); expected a TOML file")
        if info.st_size > MAX_FILE_BYTES:
            raise ScenarioError(f"{path}: {info.st_size} bytes; expected a scenario file of at most "
                                f"{MAX_FILE_BYTES} bytes (1 MiB)")  # fmt: skip
        with os.fdopen(fd, "rb", closefd=False) as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(raw) > MAX_FILE_BYTES:  # it grew after the check
        raise ScenarioError(f"{path}: expected a scenario file of at most {MAX_FILE_BYTES} bytes (1 MiB)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text ({exc})") from None


def to_toml(s: Scenario, base: Path | None = None) -> str:
    """The scenario as a file; ``parse(tomllib.loads(to_toml(s, base)), base=base) == s``.

    ``bot.script`` is written relative to ``base`` (``save``: the file's folder), absolute without one."""
    data: dict[str, Any] = {}
    if s.description:
        data["description"] = s.description
    data["seed"] = s.seed
    data["horizon"] = s.horizon
    data["platform"] = {"preset": s.platform, **s.platform_overrides}
    if s.public_url is not None:
        data["platform"]["public_url"] = s.public_url
    bot: dict[str, Any] = {k: getattr(s.bot, k) for k in BOT_KEYS if getattr(s.bot, k) is not None}
    if s.bot.script is not None and base is not None:
        bot["script"] = _relative_to(s.bot.script, base)
    if s.bot.params:
        bot["params"] = s.bot.params
    if s.bot.env:
        bot["env"] = dict(s.bot.env)
    data["bot"] = bot
    data["network"] = {"latency": list(s.latency), "drop": s.drop}
    data["store"] = {"latency": list(s.store_latency), "outages": [list(w) for w in s.store_outages]}
    if s.store_wipes:
        data["store"]["wipes"] = list(s.store_wipes)
    data["updates"] = {"start": s.updates.start, "at": list(s.updates.at)}
    if s.updates.every is not None:
        data["updates"]["every"] = s.updates.every
    if s.updates.chats != 1:
        data["updates"]["chats"] = s.updates.chats
    data["events"] = [{"at": e.at, "kind": e.kind, **_relative(e.params, base)} for e in s.events]
    if s.expect:
        data["expect"] = dict(s.expect)
    if not s.schedule.fifo:  # a FIFO scenario's file is what it was before schedules existed
        data["schedule"] = _schedule_table(s.schedule)
    if s.services:
        data["services"] = dict.fromkeys(s.services, True)
    return tomli_w.dumps(data)


def _relative(params: dict[str, Any], base: Path | None) -> dict[str, Any]:
    """A deploy's ``script`` written as ``bot.script`` is: relative to ``base`` when there is one."""
    if "script" in params and base is not None:
        return {**params, "script": _relative_to(params["script"], base)}
    return params


def _relative_to(script: str, base: Path) -> str:
    return Path(os.path.relpath(script, os.path.abspath(base))).as_posix()


def _schedule_table(schedule: Schedule) -> dict[str, Any]:
    if schedule.strategy == "random":
        return {"strategy": "random", "seed": schedule.seed}
    if schedule.strategy == "pct":
        return {"strategy": "pct", "seed": schedule.seed, "depth": schedule.depth, "steps": schedule.steps}
    return {"deviations": [list(d) for d in schedule.deviations]}


def save(s: Scenario, path: str | Path) -> None:
    """Write ``s`` to ``path``; a script target is stored relative to the file's folder."""
    Path(path).write_text(to_toml(s, Path(path).parent), encoding="utf-8")
