"""One deploy model for every platform (docs/platforms.md §4).

A ``Platform`` says how a supervisor rolls out a new instance, signals and kills
the old one, and restarts instances that exit by themselves. Presets (§5) are
instances of it; every field can be overridden with ``dataclasses.replace`` or a
scenario's ``[platform]`` table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

Order = Literal["start_first", "stop_first", "simultaneous"]
Signal = Literal["SIGTERM", "SIGINT"]
OnExit = Literal["restart", "stop"]
# Which machine a new process of the service runs on, so which files (and file locks) it sees:
# "per_process": a fresh container every start (a new image filesystem, nothing kept);
# "per_replica": a replica's container survives its restarts until a deploy replaces it;
# "shared": every process of the service on one machine (systemd on a VPS, a laptop).
Hosts = Literal["per_process", "per_replica", "shared"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """The supervisor's delay before the n-th consecutive restart."""

    initial: float = 0.0
    factor: float = 1.0
    max: float | None = None
    reset_after_up: float | None = None  # a run this long resets the count
    schedule: tuple[float, ...] = ()  # explicit delays; the last one repeats

    def delay(self, restarts: int) -> float:
        """Delay before restart number ``restarts`` (0 = the first)."""
        if self.schedule:
            return self.schedule[min(restarts, len(self.schedule) - 1)]
        value = self.initial * self.factor**restarts
        return value if self.max is None else min(value, self.max)


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    order: Order
    replicas: int = 1
    readiness_delay: float = 0.5  # process start -> the platform sees it ready
    min_ready: float = 0.0  # extra wait after ready (K8s minReadySeconds, ECS 40 s)
    hold_after_ready: float = 0.0  # old keeps running, unsignalled, after cutover
    pre_stop: float = 0.0  # preStop hook / LB deregistration before the signal
    stop_signal: Signal = "SIGTERM"
    grace: float = 30.0  # signal -> SIGKILL
    grace_bounds: tuple[float, float] = (0.0, 300.0)
    on_exit_zero: OnExit = "restart"
    on_exit_nonzero: OnExit = "restart"
    max_restarts: int | None = None  # None: unlimited
    restart_window: float | None = None  # counting window for max_restarts
    backoff: Backoff = field(default_factory=Backoff)
    hosts: Hosts = "per_process"  # see ``Hosts``; cited per preset in docs/platforms.md §5.1
    source: str = ""  # where the defaults come from (§5 "Conf")

    def __post_init__(self) -> None:
        low, high = self.grace_bounds
        if not low <= self.grace <= high:
            raise ValueError(f"platform {self.name!r}: grace {self.grace} s is outside {low}..{high} s")
        if self.replicas < 1:
            raise ValueError(f"platform {self.name!r}: replicas must be at least 1, got {self.replicas}")

    def startup_window(self) -> float:
        """Seconds from a new process's start until the old one is signalled (start-first)."""
        return self.readiness_delay + self.min_ready + self.hold_after_ready + self.pre_stop

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))
