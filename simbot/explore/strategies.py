"""Hypothesis strategies for scenarios within a platform preset's bounds.

Hypothesis draws only the compact shape of an experiment: a few timeline events at
multiples of 5 s, which platform knobs leave their defaults, the network and store
weather *levels*, and one integer seed. The simulation's seeded PRNG does the rest
(every request's latency, every drop), so an example costs a few dozen choices and
shrinks toward "one deploy at 10 s, defaults, seed 0". Nothing is drawn from inside
a running simulation: not even the order of same-instant callbacks. With ``schedules``
(random or pct) the example also draws which seeded schedule orders them (its seed and, for
PCT, its depth); one example in four keeps FIFO, and FIFO is where a schedule shrinks to.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import strategies as st

from ..platforms import PRESETS, Platform
from ..platforms.routing import routing_for
from ..scenario import Bot, Event, Scenario, Updates
from ..sim.schedule import Schedule

# What a start-up policy is expected to survive: the platform's own actions and the weather.
DEFAULT_FAULTS = ("deploy", "restart", "crash", "pause", "telegram_outage", "latency", "drop", "store", "store_wipe")
# Outside every policy's stated assumptions (docs/startup.md): a poller nobody controls, and a
# process frozen between computing a poll and sending it. Ask for them with ``faults``.
EXTRA_FAULTS = ("stray", "pause_before_poll")
# A bot that serves webhooks (on a preset that routes HTTP) also gets these by default: the
# platform's edge failing and a stale routing table, the platform's doing and the weather.
WEBHOOK_FAULTS = ("endpoint_errors", "routing_lag")
# Outside a start-up policy's assumptions, asked for with ``faults``: a handler that blocks its
# process's loop past Telegram's 60 s (the bot's own code: a re-sent update can reach another
# instance, and only idempotent handlers or a shared store absorb that, docs/startup.md), and
# the operator re-setting the webhook with another secret (deafens a fixed-secret bot by design).
WEBHOOK_EXTRA_FAULTS = ("slow_handler", "rotate_secret")
FAULTS = DEFAULT_FAULTS + EXTRA_FAULTS + WEBHOOK_FAULTS + WEBHOOK_EXTRA_FAULTS
# appended, never inserted: a polling bot's list of kinds, and so its draws, stay as they were
EVENT_FAULTS = ("deploy", "restart", "crash", "pause", "telegram_outage", "stray", "pause_before_poll",
                *WEBHOOK_FAULTS, *WEBHOOK_EXTRA_FAULTS)  # fmt: skip

FIRST_EVENT = 10.0  # every instance has had time to boot
STEP = 5.0  # event times are multiples of this: shrunk scenarios read in round numbers
UPDATE_EVERY = 10.0
SCHEDULES = ("fifo", "random", "pct")  # what ``--schedules`` draws from; pct is the default
PCT_DEPTHS = (1, 3)  # PCT's bug depth d, drawn: d - 1 priority change points (shrinks to 1: priorities only)
CHOICES_PER_SECOND = 2  # measured: explore's scenarios meet ~1-3 choice points per virtual second
SETTLE = 150.0  # after the rollout: time for liveness to settle and late updates to be judged
# (lowest, highest) for knobs whose preset value is a documented default, not a constant.
HOLD_BOUNDS = {"heroku_web_preboot": (180.0, 240.0)}  # docs/platforms.md §5: "~180-240 s"


def platform_bounds(p: Platform) -> dict[str, tuple[float, float]]:
    """The range each knob is drawn from; the preset's value is always inside it."""
    low_grace, high_grace = p.grace_bounds
    bounds = {
        "readiness_delay": (0.0, max(10.0, 2 * p.readiness_delay)),
        "grace": (low_grace, min(high_grace, max(120.0, p.grace))),
    }
    if p.hold_after_ready:
        bounds["hold_after_ready"] = HOLD_BOUNDS.get(p.name, (p.hold_after_ready / 2, p.hold_after_ready * 1.5))
    if p.min_ready:
        bounds["min_ready"] = (p.min_ready / 2, p.min_ready * 1.5)
    return bounds


def horizon_for(platform: Platform, events: tuple[Event, ...]) -> float:
    """Long enough for the last rollout to finish and liveness to settle (§4's window + grace)."""
    last = max((e.params.get("until") or e.at + e.params.get("seconds", 0.0) for e in events), default=0.0)
    span = last + platform.startup_window() + platform.grace + SETTLE
    return float(-(-span // 10) * 10)


def scenarios(platform: str, bot: Bot, faults: tuple[str, ...] = DEFAULT_FAULTS, max_events: int = 4,
              schedules: str = "fifo", services: tuple[str, ...] = ()) -> st.SearchStrategy[Scenario]:  # fmt: skip
    """Scenarios of ``bot`` on the preset ``platform``, disturbed only by ``faults``, their same-instant
    callbacks ordered by FIFO or a seeded ``schedules`` strategy, with the shared ``services`` (the bot's
    Redis) on the network: they draw nothing, so the search is the same with or without them."""
    if schedules not in SCHEDULES:
        raise ValueError(f"schedules: expected one of {', '.join(SCHEDULES)}, got {schedules!r}")
    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise ValueError(f"faults: unknown {', '.join(sorted(unknown))}; expected some of {', '.join(FAULTS)}")
    if platform not in PRESETS:
        raise ValueError(f"platform: expected one of {', '.join(sorted(PRESETS))}, got {platform!r}")
    preset = PRESETS[platform]
    web = [k for k in (*WEBHOOK_FAULTS, *WEBHOOK_EXTRA_FAULTS) if k in faults]
    if web and routing_for(platform) is None:
        raise ValueError(f"faults: {', '.join(web)} need a preset that routes HTTP to the bot; {platform} routes none")
    kinds = [k for k in EVENT_FAULTS if k in faults]
    if not kinds:
        raise ValueError("faults: expected at least one timeline event (" + ", ".join(EVENT_FAULTS) + ")")
    drawn = st.builds(
        _assemble,
        st.just(preset),
        st.just(bot),
        st.integers(0, 2**16),
        _overrides(preset),
        st.lists(_event(kinds, preset), min_size=1, max_size=max_events),
        _weather(faults),
        _schedule(schedules),
    )
    return drawn.map(lambda s: dataclasses.replace(s, services=services)) if services else drawn


def _schedule(schedules: str) -> st.SearchStrategy[tuple[str, int, int]]:
    """(strategy, seed, depth); FIFO draws nothing, so ``fifo`` searches exactly what it did before
    schedules existed. Otherwise ``0`` of ``integers(0, 3)`` is FIFO: the value a schedule shrinks to."""
    if schedules == "fifo":
        return st.just(("fifo", 0, 1))
    depth = st.integers(*PCT_DEPTHS) if schedules == "pct" else st.just(1)
    return st.tuples(st.integers(0, 3), st.integers(0, 2**16), depth).map(
        lambda d: ("fifo", 0, 1) if d[0] == 0 else (schedules, d[1], d[2]))


def _overrides(p: Platform) -> st.SearchStrategy[dict[str, float]]:
    """Each knob keeps the preset's value unless hypothesis chooses to move it (shrinks to none)."""
    knobs = {name: st.none() | st.integers(int(low), int(high)).map(float)
             for name, (low, high) in platform_bounds(p).items()}  # fmt: skip
    return st.fixed_dictionaries(knobs).map(lambda d: {k: v for k, v in d.items() if v is not None})


def _event(kinds: list[str], p: Platform) -> st.SearchStrategy[tuple[int, str, dict[str, Any]]]:
    replica = st.integers(0, p.replicas - 1)
    params: dict[str, st.SearchStrategy[dict[str, Any]]] = {
        "deploy": st.just({}),
        "restart": st.just({}),
        "crash": st.fixed_dictionaries({"replica": replica, "code": st.sampled_from([137, 1])}),
        "pause": st.fixed_dictionaries({"replica": replica, "seconds": st.integers(1, 60).map(float)}),
        "telegram_outage": st.fixed_dictionaries({"seconds": st.integers(1, 60).map(float),
                                                  "status": st.sampled_from([429, 502, 500])}),  # fmt: skip
        "stray": st.fixed_dictionaries({"until": st.integers(1, 24).map(lambda k: k * STEP)}),
        "pause_before_poll": st.fixed_dictionaries({"replica": replica, "seconds": st.integers(1, 60).map(float)}),
        # webhook faults (docs/explore.md): bursts within a minute keep Telegram's next retry within the
        # liveness bound; a handler blocked past 30 s (Heroku's router) or 60 s (Telegram) is re-sent
        "endpoint_errors": st.fixed_dictionaries({"seconds": st.integers(1, 60).map(float),
                                                  "status": st.sampled_from([502, 503, 500])},
                                                 optional={"replica": replica} if p.replicas > 1 else None),
        "slow_handler": st.fixed_dictionaries({"replica": replica, "seconds": st.integers(1, 120).map(float)}),
        "routing_lag": st.fixed_dictionaries({"seconds": st.integers(1, 60).map(float)}),
        "rotate_secret": st.just({}),
    }  # fmt: skip
    return st.sampled_from(kinds).flatmap(
        lambda kind: st.tuples(st.integers(0, 24), st.just(kind), params[kind])
    )


def _weather(faults: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """Levels only; the simulation's PRNG draws each request's latency from them."""
    off = st.just(None)
    return st.fixed_dictionaries({
        "latency": st.none() | st.sampled_from([0.01, 0.05, 0.2, 1.0]) if "latency" in faults else off,
        "drop": st.none() | st.sampled_from([0.01, 0.05]) if "drop" in faults else off,
        "store_latency": st.none() | st.sampled_from([0.005, 0.05, 0.5]) if "store" in faults else off,
        "store_outage": (st.none() | st.tuples(st.integers(0, 24), st.integers(1, 6))) if "store" in faults else off,
        "store_wipe": st.none() | st.integers(0, 24) if "store_wipe" in faults else off,  # restarts empty
    })  # fmt: skip


def _assemble(preset: Platform, bot: Bot, seed: int, overrides: dict[str, float],
              raw: list[tuple[int, str, dict[str, Any]]], weather: dict[str, Any],
              schedule: tuple[str, int, int] = ("fifo", 0, 1)) -> Scenario:  # fmt: skip
    events, at = [], FIRST_EVENT
    for gap, kind, params in raw:
        at += gap * STEP
        if kind == "stray":
            params = {"until": at + params["until"]}
        events.append(Event(at, kind, dict(params)))
    platform = dataclasses.replace(preset, **overrides)
    outage = weather["store_outage"]
    outages = ((FIRST_EVENT + outage[0] * STEP, FIRST_EVENT + outage[0] * STEP + outage[1] * STEP),) if outage else ()
    wipes = () if weather["store_wipe"] is None else (FIRST_EVENT + weather["store_wipe"] * STEP,)
    horizon = max(horizon_for(platform, tuple(events)), max((*(w[1] for w in outages), *wipes), default=0.0) + SETTLE)
    return Scenario(
        seed=seed,
        horizon=horizon,
        platform=preset.name,
        platform_overrides=overrides,
        bot=bot,
        latency=(0.0, weather["latency"]) if weather["latency"] else (0.0, 0.0),
        drop=weather["drop"] or 0.0,
        store_latency=(0.0, weather["store_latency"]) if weather["store_latency"] else (0.0, 0.0),
        store_outages=outages,
        store_wipes=wipes,
        events=(Event(0.0, "start"), *events),
        updates=Updates(every=UPDATE_EVERY, start=5.0),
        schedule=_as_schedule(schedule, horizon),
    )


def _as_schedule(drawn: tuple[str, int, int], horizon: float) -> Schedule:
    """PCT spreads its change points over the run's choice points, estimated from the horizon (counting
    them would cost a second run per example); a change point past the run's end never fires."""
    strategy, seed, depth = drawn
    if strategy == "fifo":
        return Schedule()
    if strategy == "random":
        return Schedule("random", seed=seed)
    return Schedule("pct", seed=seed, depth=depth, steps=max(1, int(CHOICES_PER_SECOND * horizon)))
