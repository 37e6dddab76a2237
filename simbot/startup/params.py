"""Typed parameters: a value checked against its annotation and a declared range.

Start-up policies and platforms are frozen dataclasses; their annotations already say
each field's type (``float``, ``int | None``, a ``Literal`` of names, ...). ``typed``
checks a value against one, so a wrong type, a NaN, an infinity or an unknown name is
refused where it is written instead of crashing (or silently misbehaving) deep in a run.
Ranges are what annotations cannot say; they are declared next to what they bound
(``POLICY_RANGES`` here, the platform's in ``simbot.scenario.platform``).
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass, fields
from typing import Any

MAX_SECONDS = 30 * 86400.0  # the longest run a scenario may ask for; no duration needs to exceed it


class ParamError(ValueError):
    """A value that does not fit its parameter: ``key``, what was ``expected``, what it ``got``."""

    def __init__(self, key: str, expected: str, got: Any = ..., where: str = ""):
        self.key, self.expected, self.got = key, expected, got
        shown = repr(got) if len(repr(got)) <= 80 else repr(got)[:77] + "..."
        head = f"{where}: " if where else ""
        super().__init__(f"{head}{key}: expected {expected}" + ("" if got is ... else f", got {shown}"))


@dataclass(frozen=True)
class Range:
    """Closed bounds; ``above`` makes the low bound exclusive (a period of 0 s would spin)."""

    low: float | None = 0
    high: float | None = None
    above: bool = False

    def holds(self, value: float) -> bool:
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            return False
        return self.high is None or value <= self.high

    def describe(self) -> str:
        low = "" if self.low is None else f" {'above' if self.above else 'at least'} {plain(self.low)}"
        high = "" if self.high is None else f" at most {plain(self.high)}"
        return low + (" and" if low and high else "") + high


def plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


SECONDS = Range(0, MAX_SECONDS)
PERIOD = Range(0, MAX_SECONDS, above=True)
POLL_TIMEOUT = Range(0, 50)  # Telegram clamps getUpdates' timeout to 0..50 (Client.h LONG_POLL_MAX_TIMEOUT)
EXIT_CODE = Range(0, 255)

# policy -> parameter -> range; parameters not listed take the default for their type
# (numbers: at least 0; names: non-empty).
POLICY_RANGES: dict[str, dict[str, Range]] = {
    "naive": {"poll_timeout": POLL_TIMEOUT},
    "exit-on-conflict": {"poll_timeout": POLL_TIMEOUT, "exit_code": EXIT_CODE},
    "delay-probe-backoff": {
        "delay": SECONDS, "probe_timeout": POLL_TIMEOUT, "probe_limit": Range(1, 100), "probe_offset": Range(None),
        "attempts": Range(1, 1000), "wait_step": SECONDS, "reset_after": SECONDS, "poll_timeout": POLL_TIMEOUT,
        "exit_code": EXIT_CODE,
    },
    "lease": {
        "ttl": PERIOD, "renew_every": PERIOD, "margin": SECONDS, "retry_every": PERIOD,
        "poll_timeout": Range(3, 50),  # below 3 the anti-spin rule raises it (lease.MIN_POLL_TIMEOUT)
        "store_timeout": PERIOD,
    },
}  # fmt: skip
POLICY_RANGES["aiogram-lease"] = POLICY_RANGES["lease"]  # the same lease, polled by aiogram
POLICY_RANGES["webhook"] = POLICY_RANGES["aiogram-webhook"] = {
    "port": Range(1, 65535), "max_connections": Range(1, 100), "max_wait": PERIOD, "remember": Range(1, 10**7),
}  # fmt: skip


def typed(value: Any, hint: Any, key: str, bounds: Range | None = None) -> Any:
    """``value`` checked against the annotation ``hint`` (and ``bounds`` for numbers); floats come back as float."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Literal:
        if value not in args or isinstance(value, bool):
            raise ParamError(key, f"one of {', '.join(map(str, args))}", value)
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        [inner] = [a for a in args if a is not type(None)]
        return typed(value, inner, key, bounds)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ParamError(key, "a list of names" if args and args[0] is str else "a list of seconds", value)
        if len(args) == 2 and args[1] is not Ellipsis and len(value) != 2:
            raise ParamError(key, "[low, high] in seconds", value)
        inner = args[0]
        return tuple(typed(v, inner, f"{key}[{i}]", bounds) for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            raise ParamError(key, "true or false", value)
        return value
    if hint is int or hint is float:
        return _number(value, hint, key, bounds or Range())
    if hint is str:
        if not isinstance(value, str) or not value:
            raise ParamError(key, "a non-empty string", value)
        return value
    if getattr(hint, "_is_protocol", False):  # e.g. LeaseStore: an object with the protocol's methods
        wanted = [name for name in vars(hint) if not name.startswith("_") and callable(vars(hint)[name])]
        if not all(callable(getattr(value, name, None)) for name in wanted):
            raise ParamError(key, f"a {hint.__name__} (an object with {', '.join(wanted)})", value)
        return value
    if isinstance(hint, type) and not isinstance(value, hint):
        raise ParamError(key, f"a {hint.__name__}", value)
    return value


def _number(value: Any, hint: type, key: str, bounds: Range) -> float | int:
    what, finite_what = ("an integer", "an integer") if hint is int else ("a number", "a finite number")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (hint is int and not isinstance(value, int)):
        raise ParamError(key, what + bounds.describe(), value)
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite or not bounds.holds(value):
        raise ParamError(key, finite_what + bounds.describe(), value)
    return float(value) if hint is float else value


def check_policy(name: str, cls: type, params: dict[str, Any]) -> None:
    """Every parameter of policy ``name`` known, of its annotated type and in its declared range."""
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    ranges = POLICY_RANGES.get(name, {})
    for key, value in params.items():
        if key not in known:
            raise ParamError(key, f"a parameter of {name!r} ({', '.join(known)})", where=f"policy {name!r}")
        try:
            typed(value, hints[key], key, ranges.get(key))
        except ParamError as exc:
            raise ParamError(exc.key, exc.expected, exc.got, where=f"policy {name!r}") from None
