"""The corpus bots' start-up logic through today's contract, where no shipped policy says it exactly.

What a corpus bot does when simbot runs it as written must give the verdict its equivalent
here gives (``equivalents/*.toml`` pin those verdicts). Each function names its bot and what,
if anything, it still does differently.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiogram import Bot, Dispatcher
from telegram.error import Conflict
from telegram.ext import Application

from simbot.drivers.ptb import build
from simbot.sim.process import InstanceContext
from simbot.startup.base import first, log, shut_down, stop_event
from simbot.startup.lock import HostLock


async def naive_drop_pending(app: Application) -> None:  # type: ignore[type-arg]
    """ptb_module_app: PTB's defaults, but ``run_polling(drop_pending_updates=True)``."""
    stop = stop_event()

    def error_callback(exc: Exception) -> None:  # run_polling's: errors go to the error handlers
        app.create_task(app.process_error(error=exc, update=None))

    await app.initialize()
    try:
        await app.updater.start_polling(drop_pending_updates=True, error_callback=error_callback)  # type: ignore[union-attr]
        await app.start()
        await stop.wait()
    finally:
        await shut_down(app)


async def incident_bot(info: InstanceContext) -> None:
    """ptb_incident, as an entry point: its lock file lives in the instance's own filesystem.

    (A start-up ``async (app)`` would take a real flock on the harness's /tmp, which every
    simulated container shares: v2 would always find v1's lock and exit 0.)
    """
    await _incident_logic(build(info), info.root / "telegram_bot.lock")


async def _incident_logic(app: Application, lock_file: Path) -> None:  # type: ignore[type-arg]
    """ptb_incident: each attempt is a whole ``run_polling``, so its post_init (10 s, then the probe) runs again.

    Lock (exit 0 if taken); then up to 5 times: initialise, wait 10 s, getWebhookInfo and the probe
    ``getUpdates(limit=1, timeout=0)`` (a webhook or a 409: exit 0), poll until the error handler sees a
    409 (then PTB's whole shutdown), wait ``(attempt + 1) * 5`` s. Still different: a SIGTERM during
    the bot's ``time.sleep`` ends this wait at once; in the real process asyncio's handler only notes
    it, and the next ``run_polling`` starts (its initialize may send getMe) before it stops.
    """
    stop = stop_event()
    if not HostLock(lock_file).acquire():
        log.warning("another instance holds the lock; exiting 0")
        return
    conflicted = asyncio.Event()

    def error_callback(exc: Exception) -> None:  # the bot's error handler: a 409 stops run_polling
        if isinstance(exc, Conflict):
            conflicted.set()

    for attempt in range(5):
        conflicted.clear()
        await app.initialize()
        try:
            await first(stop.wait(), timeout=10.0)
            if stop.is_set():
                return
            if (await app.bot.get_webhook_info()).url:
                return
            try:
                await app.bot.get_updates(limit=1, timeout=0)
            except Conflict:
                return
            await app.updater.start_polling(error_callback=error_callback)  # type: ignore[union-attr]
            await app.start()
            await first(stop.wait(), conflicted.wait())
        finally:
            await shut_down(app)
        if stop.is_set() or not conflicted.is_set():
            return
        if attempt + 1 < 5:
            await first(stop.wait(), timeout=(attempt + 1) * 5.0)
            if stop.is_set():
                return
    log.warning("still conflicting after 5 attempts; exiting 0")


async def aiogram_drop_pending(info: InstanceContext) -> None:
    """aiogram_webhook_cleanup: ``delete_webhook(drop_pending_updates=True)``, then ``start_polling``."""
    bot = Bot(info.env["TELEGRAM_BOT_TOKEN"])
    dispatcher = Dispatcher()
    dispatcher.message()(_echo)
    await bot.delete_webhook(drop_pending_updates=True)
    await dispatcher.start_polling(bot, allowed_updates=dispatcher.resolve_used_update_types())


async def _echo(message) -> None:  # type: ignore[no-untyped-def]
    return None
