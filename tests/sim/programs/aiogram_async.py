"""aiogram's examples/echo_bot.py layout: module-level Dispatcher, asyncio.run(main())."""

import asyncio
import os

from aiogram import Bot, Dispatcher, F
from aiogram.types import Message

dp = Dispatcher()


@dp.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def main() -> None:
    bot = Bot(token=os.environ["BOT_TOKEN"])
    await dp.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
