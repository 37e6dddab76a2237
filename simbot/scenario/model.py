"""A scenario: one complete, replayable experiment, as a scenario file states it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..sim.schedule import Schedule

OUTCOMES = ("pass", "fail", "inconclusive")
SERVICES = ("redis",)  # [services] NAME = true: a shared service every process reaches by that host name

# event kind -> {parameter: (type, default or REQUIRED)}
REQUIRED = object()
EVENT_KINDS: dict[str, dict[str, tuple[type | tuple[type, ...], Any]]] = {
    "start": {},
    "deploy": {"script": (str, None), "env": (dict, None)},  # a new version: its script, its added env
    "restart": {},
    "crash": {"replica": (int, 0), "code": (int, 137)},
    "scale": {"replicas": (int, REQUIRED)},
    "stray": {"until": ((int, float), None), "entry": (str, None), "name": (str, "stray"),
              "replica": (int, None)},  # on that replica's machine (platform.hosts), else its own
    "pause": {"replica": (int, 0), "seconds": ((int, float), REQUIRED)},
    "pause_before_poll": {"replica": (int, 0), "seconds": ((int, float), REQUIRED)},
    "webhook": {"url": (str, REQUIRED)},
    "telegram_outage": {"seconds": ((int, float), REQUIRED), "status": (int, 429), "retry_after": (int, 5)},
    # webhook faults (docs/scenarios.md): only on a preset that routes HTTP (platforms/routing.py)
    "endpoint_errors": {"seconds": ((int, float), REQUIRED), "status": (int, 502), "replica": (int, None)},
    "routing_lag": {"seconds": ((int, float), REQUIRED)},
    "slow_handler": {"seconds": ((int, float), REQUIRED), "replica": (int, 0)},
    "rotate_secret": {},
}
WEBHOOK_EVENTS = ("endpoint_errors", "routing_lag", "slow_handler", "rotate_secret")


@dataclass(frozen=True)
class Event:
    at: float
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bot:
    """The bot under test: a named ``simbot.startup`` policy, your own start-up or entry point, or your own
    bot as it is written (a script, a module run with ``-m``, or a ``main`` function)."""

    policy: str | None = None  # "naive" when nothing else is named
    entry: str | None = None  # "module:function", an async (InstanceContext) -> None
    params: dict[str, Any] = field(default_factory=dict)
    startup: str | None = None  # "module:function", an async (Application) -> None (docs/startup.md)
    script: str | None = None  # an absolute path: run as ``python PATH`` (files store it relative to the file)
    module: str | None = None  # "package.module": run as ``python -m package.module``
    main: str | None = None  # "package.module:function", sync or async, called without arguments
    env: dict[str, str] = field(default_factory=dict)  # added to each process's environment

    def __post_init__(self) -> None:
        if all(getattr(self, k) is None for k in TARGET_KEYS):
            object.__setattr__(self, "policy", "naive")

    @property
    def user_bot(self) -> bool:
        """The bot's own program (script, module, main), not simbot's contract: it gets real isolation."""
        return self.script is not None or self.module is not None or self.main is not None

    def label(self) -> str:
        if self.script is not None:
            return os.path.basename(self.script)
        if self.module is not None:
            return f"-m {self.module}"
        return self.policy or self.startup or self.entry or self.main or "?"


TARGET_KEYS = ("policy", "startup", "entry", "script", "module", "main")


@dataclass(frozen=True)
class Updates:
    """Updates pushed during the run: every ``every`` seconds from ``start``, plus ``at``, from ``chats``
    private chats in turn."""

    every: float | None = None
    start: float = 5.0
    at: tuple[float, ...] = ()
    chats: int = 1  # the k-th update (in time order) comes from chat 1000 + k mod chats: per-chat webhook queues


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
    schedule: Schedule = field(default_factory=Schedule)  # same-instant order: FIFO unless the file says
    services: tuple[str, ...] = ()  # shared services on the run's network: "redis" (redis://redis:6379/0)
    public_url: str | None = None  # a web service's address, when not the preset's (your app's own domain)
