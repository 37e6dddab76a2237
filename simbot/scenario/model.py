"""A scenario: one complete, replayable experiment, as a scenario file states it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("pass", "fail", "inconclusive")

# event kind -> {parameter: (type, default or REQUIRED)}
REQUIRED = object()
EVENT_KINDS: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "start": {},
    "deploy": {},
    "restart": {},
    "crash": {"replica": (int, 0), "code": (int, 137)},
    "scale": {"replicas": (int, REQUIRED)},
    "stray": {"until": ((int, float), None), "entry": (str, "simbot.drivers.ptb:naive"), "name": (str, "stray"),
              "replica": (int, None)},  # on that replica's machine (platform.hosts), else its own
    "pause": {"replica": (int, 0), "seconds": ((int, float), REQUIRED)},
    "pause_before_poll": {"replica": (int, 0), "seconds": ((int, float), REQUIRED)},
    "webhook": {"url": (str, REQUIRED)},
    "telegram_outage": {"seconds": ((int, float), REQUIRED), "status": (int, 429), "retry_after": (int, 5)},
}


@dataclass(frozen=True)
class Event:
    at: float
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bot:
    """The bot under test: a named ``simbot.startup`` policy, your own start-up, or your own entry point."""

    policy: str | None = None  # "naive" when nothing else is named
    entry: str | None = None  # "module:function", an async (InstanceContext) -> None
    params: dict[str, Any] = field(default_factory=dict)
    startup: str | None = None  # "module:function", an async (Application) -> None (docs/startup.md)

    def __post_init__(self) -> None:
        if self.policy is None and self.startup is None and self.entry is None:
            object.__setattr__(self, "policy", "naive")

    def label(self) -> str:
        return self.policy or self.startup or self.entry or "?"


@dataclass(frozen=True)
class Updates:
    """Updates pushed during the run: every ``every`` seconds from ``start``, plus ``at``."""

    every: float | None = None
    start: float = 5.0
    at: tuple[float, ...] = ()


@dataclass(frozen=True)
class Scenario:
    seed: int
    horizon: float
    platform: str
    platform_overrides: dict[str, Any] = field(default_factory=dict)
    bot: Bot = field(default_factory=Bot)
    latency: tuple[float, float] = (0.0, 0.0)
    drop: float = 0.0
    store_latency: tuple[float, float] = (0.0, 0.0)
    store_outages: tuple[tuple[float, float], ...] = ()
    store_wipes: tuple[float, ...] = ()  # the lease store restarts empty at these times
    events: tuple[Event, ...] = ()
    updates: Updates = field(default_factory=Updates)
    expect: dict[str, str] = field(default_factory=dict)
    description: str = ""
