"""A start-up with a planted bug for the search to find: it quits (exit 0) on a Telegram 5xx."""

from __future__ import annotations

import asyncio

from telegram.error import NetworkError
from telegram.ext import Application

from simbot.startup.base import shut_down, stop_event


async def quits_on_5xx(app: Application) -> None:  # type: ignore[type-arg]
    stop = stop_event()
    quit_ = asyncio.Event()

    def error_callback(error: Exception) -> None:
        if isinstance(error, NetworkError):
            quit_.set()  # "Telegram is down: let the platform sort it out"

    await app.initialize()
    await app.updater.start_polling(error_callback=error_callback)  # type: ignore[union-attr]
    await app.start()
    await asyncio.wait([asyncio.ensure_future(stop.wait()), asyncio.ensure_future(quit_.wait())],
                       return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
    await shut_down(app)


async def raises_at_start(app: Application) -> None:  # type: ignore[type-arg]
    raise RuntimeError("DATABASE_URL is not set")  # a bot that cannot start: explore must say so, not search
