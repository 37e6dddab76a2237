"""aiogram 3, run with ``Dispatcher.start_polling`` and its defaults.

aiogram's own code registers SIGTERM/SIGINT with ``loop.add_signal_handler``
(the simulation keeps them per instance), builds its default session (swapped for
the fake's inside a simulation) and backs off with the global ``random`` module
(reseeded per scenario). Handled updates are seen in ``Dispatcher.feed_update`` itself
(``instrument``): nothing is added to the bot.
"""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from ..sim.process import InstanceContext


def build(info: InstanceContext) -> tuple[Dispatcher, Bot]:
    """A default Dispatcher and Bot, nothing added: the harness sees handled updates in aiogram itself."""
    return Dispatcher(), Bot(info.env["TELEGRAM_BOT_TOKEN"])


async def naive(info: InstanceContext) -> None:
    """The default aiogram bot: ``start_polling`` with every framework default."""
    bot = Bot(info.env["TELEGRAM_BOT_TOKEN"])
    await Dispatcher().start_polling(bot)
