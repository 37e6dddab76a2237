"""Start-up logic under test: the incident's fix, common practice, and a safe lease.

A start-up is ``async (app) -> None`` for a python-telegram-bot 22 Application;
use one in production with ``asyncio.run(simbot.startup.run(app, policy))``. The lease
also exists for aiogram 3 (``aiogram-lease``, ``simbot.startup.aiogram.AiogramLease``):
``asyncio.run(simbot.startup.aiogram.run(dp, bot, policy))``. A webhook bot runs under
``webhook`` (``WebhookPolicy``) or ``aiogram-webhook`` (``simbot.startup.aiogram_webhook``).
"""

from __future__ import annotations

from typing import Any

from .aiogram import AiogramLease
from .aiogram_webhook import AiogramWebhook
from .base import Startup, run
from .errors import FrameworkMissing, require_aiogram, require_ptb
from .incident import DelayProbeBackoff
from .lease import LeasePolicy
from .lock import HostLock
from .naive import ExitOnConflict, Naive
from .params import ParamError, check_policy
from .stores import FileStore, LeaseStore, MemoryStore, StoreUnavailable
from .webhook import WebhookPolicy

POLICIES: dict[str, type] = {
    "naive": Naive,
    "exit-on-conflict": ExitOnConflict,
    "delay-probe-backoff": DelayProbeBackoff,
    "lease": LeasePolicy,
    "aiogram-lease": AiogramLease,
    "webhook": WebhookPolicy,
    "aiogram-webhook": AiogramWebhook,
}
LEASES = ("lease", "aiogram-lease")  # policies that take the shared lease store and an owner
WEBHOOKS = ("webhook", "aiogram-webhook")  # policies that serve webhook POSTs (a web service's URL, secret and PORT)
FRAMEWORKS = {"aiogram-lease": require_aiogram, "aiogram-webhook": require_aiogram}  # the framework a policy runs (python-telegram-bot if not listed)


def policy(name: str, **params: Any) -> Startup:
    """A policy by its name, with parameters overriding its shipped defaults."""
    try:
        cls = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown start-up policy {name!r}; expected one of: {', '.join(POLICIES)}") from None
    FRAMEWORKS.get(name, require_ptb)(f"start-up policy {name!r}")
    check_policy(name, cls, params)  # a ParamError (a ValueError) naming the parameter and its type or range
    try:
        return cls(**params)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise ValueError(f"policy {name!r}: {exc}") from None


__all__ = [
    "LEASES", "POLICIES", "WEBHOOKS", "AiogramLease", "AiogramWebhook", "DelayProbeBackoff", "ExitOnConflict", "FrameworkMissing", "FileStore", "HostLock", "LeasePolicy", "LeaseStore",
    "MemoryStore", "Naive", "ParamError", "Startup", "StoreUnavailable", "WebhookPolicy", "policy", "run",
]
