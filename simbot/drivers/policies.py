"""Entry points running a start-up (ours or yours) on a default python-telegram-bot Application
(or, for ``aiogram-lease``, a default aiogram Dispatcher and Bot).

Importable without python-telegram-bot: a scenario module names these whatever framework is
installed; python-telegram-bot is imported when an instance builds its Application, and a
policy asks for it up front (``simbot.startup.policy``), so a missing one is one clear error.
"""

from __future__ import annotations

from typing import Any

from ..sim.process import InstanceContext


def _build(info: InstanceContext) -> Any:
    from .ptb import build

    return build(info)


AIOGRAM = ("aiogram-lease", "aiogram-webhook")  # policies that run an aiogram Dispatcher and Bot instead of a PTB Application


WEBHOOK_SECRET = "simbot-fixed-secret"  # the webhook policies' secret when the scenario sets none: one for every deploy


def with_policy(name: str, **params: Any):  # type: ignore[no-untyped-def]
    """An entry point running a ``simbot.startup`` policy, fitted to its instance.

    The host-local lock lives in the instance's own filesystem; a lease uses the
    simulation's shared store (a ``MemoryStore`` unless the scenario put another
    there) and the instance's name as its owner.
    """
    from ..startup import LEASES, WEBHOOKS, MemoryStore, policy

    build_aiogram = None
    if name in AIOGRAM:  # imported now, before the run: a simulation sends aiogram's session to the fake
        from ..startup.errors import require_aiogram  # once aiogram is imported (``Simulation.spawn``)

        require_aiogram(f"start-up policy {name!r}")
        from .aiogram import build as build_aiogram

    async def entry(info: InstanceContext) -> None:
        fitted = dict(params)
        if name == "delay-probe-backoff":
            fitted.setdefault("lock_dir", str(info.root))
        if name in LEASES:
            fitted.setdefault("store", info.extra["shared"].setdefault("lease_store", MemoryStore()))
            fitted.setdefault("owner", info.name)
        if name in WEBHOOKS:  # what the user sets in the platform's dashboard; a process has no os.environ of its own here
            fitted.setdefault("url", info.env.get("WEBHOOK_URL"))
            fitted.setdefault("secret", info.env.get("WEBHOOK_SECRET", WEBHOOK_SECRET))
            fitted.setdefault("port", int(info.env["PORT"]) if "PORT" in info.env else None)
        if build_aiogram is not None:
            await policy(name, **fitted)(*build_aiogram(info))
        else:
            await policy(name, **fitted)(_build(info))

    entry.__qualname__ = f"with_policy({name!r})"
    return entry


def with_startup(startup: Any):  # type: ignore[no-untyped-def]
    """An entry point running your own start-up: ``async (app) -> None``, or ``"module:function"``."""
    if isinstance(startup, str):
        from ..sim.entry import load

        startup = load(startup)

    async def entry(info: InstanceContext) -> None:
        await startup(_build(info))

    entry.__qualname__ = f"with_startup({getattr(startup, '__qualname__', startup)!r})"
    return entry
