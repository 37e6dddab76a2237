"""A user's own start-up logic, as docs/startup.md describes: wait, then poll like PTB."""

from __future__ import annotations

import asyncio

from telegram.ext import Application

from simbot.startup.base import shut_down, stop_event


async def patient(app: Application) -> None:  # type: ignore[type-arg]
    stop = stop_event()
    await asyncio.sleep(90)  # "wait out the old instance"
    await app.initialize()
    await app.updater.start_polling()  # type: ignore[union-attr]
    await app.start()
    await stop.wait()
    await shut_down(app)
