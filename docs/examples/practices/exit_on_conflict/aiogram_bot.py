"""Echo bot that exits when Telegram says another instance is polling, for the platform to restart.

Where the pattern comes from: bots published on GitHub that wrap `dp.start_polling` in
`except TelegramConflictError: raise SystemExit(...)` ("the bot is already running somewhere
else, exiting") and run under Docker's `restart: always`. aiogram 3 never raises that error out
of `start_polling`: its polling loop logs each 409 and retries by itself.
"""

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import TelegramConflictError
from aiogram.types import Message

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger(__name__)

dp = Dispatcher()


@dp.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def main() -> None:
    bot = Bot(token=os.environ["BOT_TOKEN"])
    try:
        await dp.start_polling(bot)
    except TelegramConflictError as e:
        logger.critical("Another instance is polling with this token (%s). Exiting.", e)
        raise SystemExit(1) from e


if __name__ == "__main__":
    asyncio.run(main())
