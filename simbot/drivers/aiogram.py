"""aiogram 3, run with ``Dispatcher.start_polling`` and its defaults.

aiogram's own code registers SIGTERM/SIGINT with ``loop.add_signal_handler``
(the simulation keeps them per instance), builds its default session (swapped for
the fake's inside a simulation) and backs off with the global ``random`` module
(reseeded per scenario).
"""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from ..sim.process import InstanceContext
from ..sim.simulation import note_handled


async def naive(info: InstanceContext) -> None:
    """The default aiogram bot: ``start_polling`` with every framework default."""
    bot = Bot(info.env["TELEGRAM_BOT_TOKEN"])
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(_handled)
    await dispatcher.start_polling(bot)


async def _handled(handler, update, data):  # type: ignore[no-untyped-def]
    note_handled(update.update_id)
    return await handler(update, data)
