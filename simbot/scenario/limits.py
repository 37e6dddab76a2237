"""What a scenario may ask for: event parameters in range, replicas that exist, a run that ends.

A simulation is stopped by its watchdog after 30 s of real time (``Simulation.watchdog``),
and a cut-short run cannot be trusted. So a file is refused up front when its estimated
real time exceeds ``MAX_ESTIMATED_SECONDS``, a third of that, with the figures that
make it up. Costs measured on the shared 2-core machine, rounded up to the slowest
seen (a pushed update 0.6-2 ms, an instance polling for one virtual second 30-100 µs, a
process launched and rolled, with its 409 fights, ~10 ms): at the bound, runs took
8-20 s, never the watchdog's 30.
"""

from __future__ import annotations

from typing import Any

from ..platforms import Platform
from ..startup.params import EXIT_CODE, PERIOD, SECONDS, ParamError, Range, typed
from .model import WEBHOOK_EVENTS, Event
from .platform import MAX_REPLICAS

MAX_EVENTS = 1_000
MAX_UPDATE_TIMES = 5_000  # updates.at alone: the whole budget
MAX_ESTIMATED_SECONDS = 10.0  # the watchdog stops a run at 30 s; slower machines get a 3× margin
COST_PER_UPDATE = 2e-3
COST_PER_INSTANCE_SECOND = 100e-6
COST_PER_LAUNCH = 10e-3
OUTAGE_STATUSES = (429, 500, 502, 503, 504)  # what Telegram (or the proxy in front of it) answers when it is down
ENDPOINT_STATUSES = (500, 502, 503, 504)  # what a failing platform edge or proxy answers in the bot's place

# event kind -> parameter -> (annotation, range); the defaults live in model.EVENT_KINDS
EVENT_PARAMS: dict[str, dict[str, tuple[Any, Range | None]]] = {
    "deploy": {"script": (str, None), "env": (dict[str, str], None)},  # checked as bot.script/bot.env (files.py)
    "crash": {"replica": (int, Range(0, MAX_REPLICAS - 1)), "code": (int, EXIT_CODE)},
    "scale": {"replicas": (int, Range(0, MAX_REPLICAS))},
    "stray": {"until": (float, SECONDS), "entry": (str, None), "name": (str, None),
              "replica": (int, Range(0, MAX_REPLICAS - 1))},
    "pause": {"replica": (int, Range(0, MAX_REPLICAS - 1)), "seconds": (float, PERIOD)},
    "pause_before_poll": {"replica": (int, Range(0, MAX_REPLICAS - 1)), "seconds": (float, PERIOD)},
    "webhook": {"url": (str, None)},
    "telegram_outage": {"seconds": (float, PERIOD), "status": (int, Range(429, 599)),
                        "retry_after": (int, Range(1, 3600))},
    "endpoint_errors": {"seconds": (float, PERIOD), "status": (int, Range(500, 599)),
                        "replica": (int, Range(0, MAX_REPLICAS - 1))},
    "routing_lag": {"seconds": (float, PERIOD)},
    "slow_handler": {"seconds": (float, PERIOD), "replica": (int, Range(0, MAX_REPLICAS - 1))},
}  # fmt: skip


def check_event_param(kind: str, name: str, value: Any, key: str, at: float, horizon: float) -> None:
    """One event parameter: its type, its range, and what it must mean for this kind of event."""
    hint, bounds = EVENT_PARAMS[kind][name]
    typed(value, hint, key, bounds)
    if kind == "telegram_outage" and name == "status" and value not in OUTAGE_STATUSES:
        raise ParamError(key, f"a status Telegram answers when it is down ({', '.join(map(str, OUTAGE_STATUSES))})",
                         value)  # fmt: skip
    if kind == "endpoint_errors" and name == "status" and value not in ENDPOINT_STATUSES:
        raise ParamError(key, f"a status a failing edge or proxy answers ({', '.join(map(str, ENDPOINT_STATUSES))})",
                         value)  # fmt: skip
    if name == "until" and not at <= value <= horizon:
        raise ParamError(key, f"a time from the event's ({at:g} s) to the horizon ({horizon:g} s)", value)
    if name == "seconds" and at + value > horizon:
        raise ParamError(key, f"a duration that ends by the horizon (at most {horizon - at:g} s after {at:g} s)", value)
    if kind == "webhook" and not (value.startswith("https://") and len(value) > len("https://")):
        raise ParamError(key, "an https:// URL (Telegram refuses any other webhook)", value)
    if kind == "stray" and name == "name" and (value == "bot" or value.startswith("bot.")):
        raise ParamError(key, "a name other than the platform's instances' (bot, bot.v1, ...)", value)


def check_replicas(events: tuple[Event, ...], platform: Platform, source_fail: Any) -> None:
    """A crash or pause names a replica that exists when it happens.

    Events run in time order, file order within the same instant (the loop is FIFO);
    without a ``start`` event the platform starts at 0 s before anything else. A
    ``start`` makes ``platform.replicas`` replicas, a ``scale`` ``replicas``.
    """
    count = platform.replicas if not any(e.kind == "start" for e in events) else 0
    for i, event in sorted(enumerate(events), key=lambda pair: pair[1].at):
        if event.kind == "start":
            count = platform.replicas
        elif event.kind == "scale":
            count = event.params["replicas"]
        elif event.kind in ("crash", "pause", "pause_before_poll", "slow_handler") or (
                event.kind in ("stray", "endpoint_errors") and "replica" in event.params):
            replica = event.params.get("replica", 0)
            if replica >= count:
                now = (f"{count} replica{'s' if count != 1 else ''} (0 .. {count - 1})" if count
                       else "no replica (not started yet, or scaled to 0)")  # fmt: skip
                raise source_fail(f"events[{i}].replica",
                                  f"a replica that exists at {event.at:g} s: there is {now} then", replica)  # fmt: skip


def check_routing(events: tuple[Event, ...], preset: str, source_fail: Any) -> None:
    """A webhook fault needs a platform that routes HTTP to the bot (``platforms/routing.py``): on a
    worker or a laptop nobody POSTs, so the event would silently do nothing."""
    from ..platforms.routing import ROUTING

    if preset in ROUTING:
        return
    for i, event in enumerate(events):
        if event.kind in WEBHOOK_EVENTS:
            raise source_fail(f"events[{i}].kind", f"an event this platform can have: {preset} routes no HTTP to the "
                                                   f"bot (no webhook POSTs), so {event.kind!r} would do nothing; "
                                                   f"presets with routing: {', '.join(ROUTING)}", event.kind)  # fmt: skip


def check_budget(events: tuple[Event, ...], platform: Platform, horizon: float, updates: int, fail: Any) -> None:
    """The run is bounded before it starts: its estimated real time stays well inside the watchdog."""
    if len(events) > MAX_EVENTS:
        raise fail("events", f"at most {MAX_EVENTS} events (each is a harness action; more is not a scenario "
                             "but a load test)", f"{len(events)} events")  # fmt: skip
    replicas = max([platform.replicas, *(e.params["replicas"] for e in events if e.kind == "scale")])
    implicit_start = not any(e.kind == "start" for e in events)
    rollouts = implicit_start + sum(e.kind in ("start", "deploy", "restart") for e in events)
    launches = rollouts * replicas + sum(e.kind in ("crash", "stray") for e in events)
    stray_seconds = sum((e.params.get("until") or horizon) - e.at for e in events if e.kind == "stray")
    instance_seconds = replicas * horizon + stray_seconds
    parts = {
        "updates": (updates * COST_PER_UPDATE, f"{updates} updates × {COST_PER_UPDATE * 1e3:g} ms"),
        "horizon": (instance_seconds * COST_PER_INSTANCE_SECOND,
                    f"{replicas} replicas × {horizon:g} s + {stray_seconds:g} s of strays = {instance_seconds:,.0f} "
                    f"instance-seconds × {COST_PER_INSTANCE_SECOND * 1e6:g} µs"),
        "events": (launches * COST_PER_LAUNCH, f"{rollouts} rollouts × {replicas} replicas + crashes and strays = "
                                               f"{launches} processes × {COST_PER_LAUNCH * 1e3:g} ms"),
    }  # fmt: skip
    total = sum(cost for cost, _ in parts.values())
    if total > MAX_ESTIMATED_SECONDS:
        key = max(parts, key=lambda k: parts[k][0])  # the biggest share: what to change first
        raise fail(key, f"a run estimated at most {MAX_ESTIMATED_SECONDS:g} s of real time (the watchdog stops "
                        f"runs at 30 s and a cut-short run proves nothing); this one is ~{total:.0f} s: "
                        + "; ".join(text for _, text in parts.values()))  # fmt: skip
