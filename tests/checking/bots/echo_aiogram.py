"""aiogram 3's echo bot in its own examples' shape: a module-level Dispatcher, ``asyncio.run(main())``."""

import asyncio
import logging
import os
import sys

from aiogram import Bot, Dispatcher
from aiogram.types import Message

dp = Dispatcher()


@dp.message()
async def echo(message: Message) -> None:
    await message.send_copy(chat_id=message.chat.id)


async def main() -> None:
    bot = Bot(token=os.environ["BOT_TOKEN"])
    await dp.start_polling(bot)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)  # logs on stdout, as the example does
    asyncio.run(main())
