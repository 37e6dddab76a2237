"""What a scenario may ask for: event parameters in range, replicas that exist, a run that ends.

Measured on the 2-core CI machine (docs/scenarios.md "Bounds"): a pushed update costs
0.6-0.9 ms of real time, an instance polling for one virtual second ~30-60 µs, a
replica launched and rolled once ~13 ms. The bounds keep every accepted file under
about a minute; beyond them a file is refused up front with the bound and the reason,
instead of a MemoryError or a run of minutes.
"""

from __future__ import annotations

from typing import Any

from ..platforms import Platform
from ..startup.params import EXIT_CODE, PERIOD, SECONDS, ParamError, Range, typed
from .model import Event
from .platform import MAX_REPLICAS

MAX_EVENTS = 1_000
MAX_UPDATES = 20_000  # ~0.9 ms each: ≤ ~20 s of pushing and handling
MAX_INSTANCE_SECONDS = 1_000_000  # replicas × horizon: ~30-60 µs each, ≤ ~60 s; one replica: 11.5 days
MAX_LAUNCHES = 2_000  # processes the file's own events start: ~6 ms each
OUTAGE_STATUSES = (429, 500, 502, 503, 504)  # what Telegram (or the proxy in front of it) answers when it is down

# event kind -> parameter -> (annotation, range); the defaults live in model.EVENT_KINDS
EVENT_PARAMS: dict[str, dict[str, tuple[Any, Range | None]]] = {
    "crash": {"replica": (int, Range(0, MAX_REPLICAS - 1)), "code": (int, EXIT_CODE)},
    "scale": {"replicas": (int, Range(0, MAX_REPLICAS))},
    "stray": {"until": (float, SECONDS), "entry": (str, None), "name": (str, None)},
    "pause": {"replica": (int, Range(0, MAX_REPLICAS - 1)), "seconds": (float, PERIOD)},
    "pause_before_poll": {"replica": (int, Range(0, MAX_REPLICAS - 1)), "seconds": (float, PERIOD)},
    "webhook": {"url": (str, None)},
    "telegram_outage": {"seconds": (float, PERIOD), "status": (int, Range(429, 599)),
                        "retry_after": (int, Range(1, 3600))},
}  # fmt: skip


def check_event_param(kind: str, name: str, value: Any, key: str, at: float, horizon: float) -> None:
    """One event parameter: its type, its range, and what it must mean for this kind of event."""
    hint, bounds = EVENT_PARAMS[kind][name]
    typed(value, hint, key, bounds)
    if kind == "telegram_outage" and name == "status" and value not in OUTAGE_STATUSES:
        raise ParamError(key, f"a status Telegram answers when it is down ({', '.join(map(str, OUTAGE_STATUSES))})",
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
        elif event.kind in ("crash", "pause", "pause_before_poll"):
            replica = event.params.get("replica", 0)
            if replica >= count:
                now = (f"{count} replica{'s' if count != 1 else ''} (0 .. {count - 1})" if count
                       else "no replica (not started yet, or scaled to 0)")  # fmt: skip
                raise source_fail(f"events[{i}].replica",
                                  f"a replica that exists at {event.at:g} s: there is {now} then", replica)  # fmt: skip


def check_budget(events: tuple[Event, ...], platform: Platform, horizon: float, updates: int, fail: Any) -> None:
    """The run is bounded before it starts: updates, processes launched, instance-seconds."""
    if len(events) > MAX_EVENTS:
        raise fail("events", f"at most {MAX_EVENTS} events (each is a harness action; more is not a scenario "
                             "but a load test)", f"{len(events)} events")  # fmt: skip
    if updates > MAX_UPDATES:
        raise fail("updates", f"at most {MAX_UPDATES} updates pushed in the run (each costs ~1 ms of real time; "
                              "raise updates.every or shorten the horizon)", f"{updates} updates")  # fmt: skip
    replicas = max([platform.replicas, *(e.params["replicas"] for e in events if e.kind == "scale")])
    rollouts = 1 + sum(e.kind in ("start", "deploy", "restart") for e in events)
    launches = rollouts * replicas + sum(e.kind in ("crash", "stray") for e in events)
    if launches > MAX_LAUNCHES:
        raise fail("events", f"at most {MAX_LAUNCHES} processes launched by the file's events (rollouts × the "
                             f"most replicas, plus crashes and strays; each costs ~6 ms)",
                   f"{rollouts} rollouts × {replicas} replicas + crashes and strays = {launches}")  # fmt: skip
    stray_seconds = sum((e.params.get("until") or horizon) - e.at for e in events if e.kind == "stray")
    instance_seconds = replicas * horizon + stray_seconds
    if instance_seconds > MAX_INSTANCE_SECONDS:
        raise fail("horizon", f"at most {MAX_INSTANCE_SECONDS:,} instance-seconds (the most replicas × horizon, "
                              "plus strays' time; each virtual second of a polling bot costs ~50 µs)",
                   f"{replicas} replicas × {horizon:g} s + {stray_seconds:g} s of strays = {instance_seconds:,.0f}")  # fmt: skip
