"""Scenario files (TOML): loading with errors that say where and what, and writing back.

Loading validates everything before anything runs. A bad file raises
``ScenarioError`` whose message names the file, the key and what was expected.
Writing a scenario and loading it back gives the same scenario.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from ..check import CHECKS
from ..platforms import PRESETS, Platform
from .model import EVENT_KINDS, OUTCOMES, REQUIRED, Bot, Event, Scenario, Updates

TOP_LEVEL = {"description", "seed", "horizon", "platform", "bot", "network", "store", "events", "updates", "expect"}


class ScenarioError(ValueError):
    """A scenario file that cannot be run, and why."""


class _Reader:
    def __init__(self, source: str):
        self.source = source

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

    def number(self, value: Any, key: str, *, low: float = 0.0, high: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, "a number", value)
        if value < low or (high is not None and value > high):
            bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise self.fail(key, f"a number {bound}", value)
        return float(value)

    def pair(self, value: Any, key: str) -> tuple[float, float]:
        if not isinstance(value, list) or len(value) != 2:
            raise self.fail(key, "[low, high] in seconds", value)
        low, high = (self.number(v, key) for v in value)
        if low > high:
            raise self.fail(key, "[low, high] with low <= high", value)
        return low, high


def parse(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """A validated Scenario from parsed TOML."""
    r = _Reader(source)
    for key in data:
        if key not in TOP_LEVEL:
            raise r.fail(key, f"one of the keys {', '.join(sorted(TOP_LEVEL))}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise r.fail("seed", "a non-negative integer", seed)
    if "horizon" not in data:
        raise r.fail("horizon", "the run's length in virtual seconds")
    horizon = r.number(data["horizon"], "horizon", low=1.0, high=30 * 86400.0)
    platform, overrides = _platform(r, data)
    bot = _bot(r, data)
    network = r.table(data, "network", {"latency", "drop"})
    store = r.table(data, "store", {"latency", "outages", "wipes"})
    outages = store.get("outages", [])
    if not isinstance(outages, list):
        raise r.fail("store.outages", "a list of [start, end] windows", outages)
    wipes = store.get("wipes", [])
    if not isinstance(wipes, list):
        raise r.fail("store.wipes", "a list of times at which the store restarts empty", wipes)
    return Scenario(
        seed=seed,
        horizon=horizon,
        platform=platform,
        platform_overrides=overrides,
        bot=bot,
        latency=r.pair(network.get("latency", [0.0, 0.0]), "network.latency"),
        drop=r.number(network.get("drop", 0.0), "network.drop", high=1.0),
        store_latency=r.pair(store.get("latency", [0.0, 0.0]), "store.latency"),
        store_outages=tuple(r.pair(w, f"store.outages[{i}]") for i, w in enumerate(outages)),
        store_wipes=tuple(r.number(t, f"store.wipes[{i}]", high=horizon) for i, t in enumerate(wipes)),
        events=_events(r, data.get("events", []), horizon),
        updates=_updates(r, data),
        expect=_expect(r, data),
        description=_text(r, data, "description"),
    )


def _text(r: _Reader, data: dict[str, Any], key: str) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise r.fail(key, "a string", value)
    return value


def _platform(r: _Reader, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    table = r.table(data, "platform", {"preset", *Platform.field_names()} - {"name", "source"})
    name = table.get("preset")
    if name not in PRESETS:
        raise r.fail("platform.preset", f"one of {', '.join(sorted(PRESETS))}", name)
    overrides = {k: v for k, v in table.items() if k != "preset"}
    try:
        dataclasses.replace(PRESETS[name], **_platform_values(overrides))
    except (TypeError, ValueError) as exc:
        raise r.fail("platform", f"valid overrides of {name!r} ({exc})") from None
    return name, overrides


def _platform_values(overrides: dict[str, Any]) -> dict[str, Any]:
    from ..platforms import Backoff

    values = dict(overrides)
    if "grace_bounds" in values:
        values["grace_bounds"] = tuple(values["grace_bounds"])
    if "backoff" in values:
        values["backoff"] = Backoff(**{k: tuple(v) if k == "schedule" else v for k, v in values["backoff"].items()})
    return values


def _bot(r: _Reader, data: dict[str, Any]) -> Bot:
    table = r.table(data, "bot", {"policy", "startup", "entry", "params"})
    policy, startup, entry = table.get("policy"), table.get("startup"), table.get("entry")
    if sum(v is not None for v in (policy, startup, entry)) != 1:
        raise r.fail("bot", "exactly one of bot.policy (a start-up policy name), bot.startup ('module:function', "
                            "an async (Application) -> None) or bot.entry ('module:function', an instance entry point)")
    params = table.get("params", {})
    if not isinstance(params, dict):
        raise r.fail("bot.params", "a table of the policy's parameters", params)
    if policy is not None:
        from ..startup import POLICIES, MemoryStore
        from ..startup import policy as make

        if policy not in POLICIES:
            raise r.fail("bot.policy", f"one of {', '.join(POLICIES)}", policy)
        trial = {"store": MemoryStore(), **params} if policy == "lease" else params
        try:
            make(policy, **trial)
        except ValueError as exc:
            raise r.fail("bot.params", f"parameters of {policy!r} ({exc})") from None
    else:
        key, value = ("bot.startup", startup) if startup is not None else ("bot.entry", entry)
        if not isinstance(value, str) or value.count(":") != 1:
            raise r.fail(key, "'package.module:function'", value)
        from ..sim.entry import load as load_entry

        try:
            load_entry(value)
        except ValueError as exc:
            raise r.fail(key, f"an importable async function ({exc})") from None
        if params:
            raise r.fail("bot.params", f"no parameters: they are for bot.policy, not {key}")
    return Bot(policy=policy, entry=entry, params=params, startup=startup)


def _events(r: _Reader, raw: Any, horizon: float) -> tuple[Event, ...]:
    if not isinstance(raw, list):
        raise r.fail("events", "a list of [[events]] tables", raw)
    events = []
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
            types, _ = spec[name]
            if isinstance(value, bool) or not isinstance(value, types):
                raise r.fail(f"{key}.{name}", "a number" if types == (int, float) else f"a {types.__name__}", value)  # type: ignore[union-attr]
            params[name] = value
        for name, (_, default) in spec.items():
            if default is REQUIRED and name not in params:
                raise r.fail(f"{key}.{name}", f"a value (a {kind!r} event needs it)")
        events.append(Event(at, kind, params))
    return tuple(events)


def _updates(r: _Reader, data: dict[str, Any]) -> Updates:
    table = r.table(data, "updates", {"every", "start", "at"})
    every = table.get("every")
    at = table.get("at", [])
    if not isinstance(at, list):
        raise r.fail("updates.at", "a list of virtual times", at)
    return Updates(
        every=None if every is None else r.number(every, "updates.every", low=0.001),
        start=r.number(table.get("start", 5.0), "updates.start"),
        at=tuple(r.number(t, f"updates.at[{i}]") for i, t in enumerate(at)),
    )


def _expect(r: _Reader, data: dict[str, Any]) -> dict[str, str]:
    table = r.table(data, "expect", set(CHECKS))
    for name, outcome in table.items():
        if outcome not in OUTCOMES:
            raise r.fail(f"expect.{name}", f"one of {', '.join(OUTCOMES)}", outcome)
    return dict(table)


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    return parse(data, str(path))


def to_toml(s: Scenario) -> str:
    """The scenario as a file; ``parse(tomllib.loads(to_toml(s))) == s``."""
    data: dict[str, Any] = {}
    if s.description:
        data["description"] = s.description
    data["seed"] = s.seed
    data["horizon"] = s.horizon
    data["platform"] = {"preset": s.platform, **s.platform_overrides}
    bot: dict[str, Any] = {k: v for k, v in (("policy", s.bot.policy), ("startup", s.bot.startup),
                                               ("entry", s.bot.entry)) if v is not None}  # fmt: skip
    if s.bot.params:
        bot["params"] = s.bot.params
    data["bot"] = bot
    data["network"] = {"latency": list(s.latency), "drop": s.drop}
    data["store"] = {"latency": list(s.store_latency), "outages": [list(w) for w in s.store_outages]}
    if s.store_wipes:
        data["store"]["wipes"] = list(s.store_wipes)
    data["updates"] = {"start": s.updates.start, "at": list(s.updates.at)}
    if s.updates.every is not None:
        data["updates"]["every"] = s.updates.every
    data["events"] = [{"at": e.at, "kind": e.kind, **e.params} for e in s.events]
    if s.expect:
        data["expect"] = dict(s.expect)
    return tomli_w.dumps(data)


def save(s: Scenario, path: str | Path) -> None:
    Path(path).write_text(to_toml(s), encoding="utf-8")
