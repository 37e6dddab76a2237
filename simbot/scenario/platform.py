"""A scenario's ``[platform]`` table: a preset and overrides of its fields, checked field by field.

Types and names come from the ``Platform`` and ``Backoff`` annotations (so a new
``Literal`` field is checked without touching this file); ranges are declared here.
Every number must be finite: a NaN delay compares false with everything and a run
built on it silently does nothing.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from ..platforms import PRESETS, Backoff, Platform
from ..startup.params import PERIOD, SECONDS, ParamError, Range, typed

MAX_REPLICAS = 200  # docs/scenarios.md "Bounds": 200 real bots through a deploy take ~3 s; 400, ~5 s

PLATFORM_RANGES: dict[str, Range] = {
    "replicas": Range(1, MAX_REPLICAS),
    "readiness_delay": SECONDS, "min_ready": SECONDS, "hold_after_ready": SECONDS, "pre_stop": SECONDS,
    "grace": SECONDS, "grace_bounds": SECONDS,
    "max_restarts": Range(0, 10_000),
    "restart_window": PERIOD,
}  # fmt: skip
BACKOFF_RANGES: dict[str, Range] = {
    "initial": SECONDS, "factor": Range(1, 1000), "max": SECONDS, "reset_after_up": SECONDS, "schedule": SECONDS,
}  # fmt: skip
NOT_OVERRIDABLE = ("name", "source")


def overridable() -> set[str]:
    return set(Platform.field_names()) - set(NOT_OVERRIDABLE)


def platform_values(overrides: dict[str, Any]) -> dict[str, Any]:
    """Overrides as ``dataclasses.replace`` takes them (lists become tuples, the backoff table a Backoff)."""
    values = dict(overrides)
    if "grace_bounds" in values:
        values["grace_bounds"] = tuple(values["grace_bounds"])
    if "backoff" in values:
        values["backoff"] = Backoff(**{k: tuple(v) if k == "schedule" else v for k, v in values["backoff"].items()})
    return values


def checked_platform(name: str, overrides: dict[str, Any]) -> Platform:
    """The preset ``name`` with ``overrides``; a ParamError naming ``platform.<field>`` for any bad value."""
    hints = typing.get_type_hints(Platform)
    allowed = overridable()
    for key, value in overrides.items():
        where = f"platform.{key}"
        if key not in allowed:
            raise ParamError(where, f"a platform field ({', '.join(sorted(allowed))})")
        if key == "backoff":
            _check_backoff(value)
            continue
        typed(value, hints[key], where, PLATFORM_RANGES.get(key))
        if key == "grace_bounds" and value[0] > value[1]:
            raise ParamError(where, "[low, high] with low <= high", value)
    preset = PRESETS[name]
    grace, (low, high) = overrides.get("grace", preset.grace), overrides.get("grace_bounds", preset.grace_bounds)
    if not low <= grace <= high:  # before building it: Platform refuses it with a message naming no key
        which = "platform.grace" if "grace" in overrides else "platform.grace_bounds"
        raise ParamError(which, f"grace ({grace:g} s) within grace_bounds ({low:g} to {high:g} s) of {name!r} "
                                "with these overrides", overrides.get("grace", overrides.get("grace_bounds")))  # fmt: skip
    return dataclasses.replace(preset, **platform_values(overrides))


def checked_public_url(url: Any, preset: str, where: str) -> str:
    """A web service's own address (``https://my-bot.onrender.com``): the host its bot sets its webhook
    to, which the platform routes to the service instead of the preset's made-up domain."""
    from urllib.parse import urlsplit

    from ..platforms.routing import routing_for

    if routing_for(preset) is None:
        raise ParamError(where, f"no public URL: {preset} routes no HTTP to the bot (a worker); a web preset", url)
    expected = "the service's https address without a path, e.g. https://my-bot.onrender.com"
    try:
        parts = urlsplit(url) if isinstance(url, str) else None
        port = parts.port if parts is not None else None
    except ValueError:  # a port that is not a number, or out of range
        raise ParamError(where, expected, url) from None
    if (parts is None or parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/")
            or parts.query or parts.fragment or "?" in url or "#" in url or "@" in parts.netloc):  # fmt: skip
        raise ParamError(where, expected, url)
    if port not in (None, 443, 80, 88, 8443):
        raise ParamError(where, "a webhook port Telegram posts to: 443, 80, 88 or 8443", url)
    host = parts.hostname.lower()
    if host == "api.telegram.org":
        raise ParamError(where, "the bot's own address, not the Bot API's", url)
    return f"https://{host}" + (f":{port}" if port not in (None, 443) else "")


def _check_backoff(table: Any) -> None:
    if not isinstance(table, dict):
        raise ParamError("platform.backoff", f"a table with some of {', '.join(typing.get_type_hints(Backoff))}", table)
    hints = typing.get_type_hints(Backoff)
    for key, value in table.items():
        where = f"platform.backoff.{key}"
        if key not in hints:
            raise ParamError(where, f"a backoff field ({', '.join(hints)})")
        typed(value, hints[key], where, BACKOFF_RANGES.get(key))
