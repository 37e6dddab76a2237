"""The aiogram tutorial template: delete the webhook and drop pending updates, then poll.

Where the pattern comes from: aiogram 3's migration guide (replace v2's `skip_updates=True` with
`bot.delete_webhook(drop_pending_updates=True)`) and the tutorials and templates that copy it;
what arrived while the bot was restarting is deleted before the new process reads it.
"""

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher, F
from aiogram.types import Message

logging.basicConfig(level=logging.INFO)

dp = Dispatcher()


@dp.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def main() -> None:
    bot = Bot(token=os.environ["BOT_TOKEN"])
    await bot.delete_webhook(drop_pending_updates=True)
    await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types())


if __name__ == "__main__":
    asyncio.run(main())
