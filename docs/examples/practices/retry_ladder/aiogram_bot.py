"""Echo bot that wraps polling in a retry ladder on TelegramConflictError, then gives up.

Where the pattern comes from: bots published on GitHub that deploy to Render and Railway
("Another bot instance is currently active (Render rolling deployment). Waiting …"): a loop
around `dp.start_polling` catching `TelegramConflictError`, a growing wait, a counter reset
when polling ends cleanly, and a last "giving up" log. aiogram 3 never raises that error out of
`start_polling`: its polling loop logs each 409 and retries by itself.
"""

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher, F
from aiogram.exceptions import TelegramConflictError
from aiogram.types import Message

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 3
RETRY_DELAY = 10  # seconds, times the attempt number

dp = Dispatcher()


@dp.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def main() -> None:
    bot = Bot(token=os.environ["BOT_TOKEN"])
    retries = 0
    while True:
        try:
            await dp.start_polling(bot)
            retries = 0
            break  # stopped by a signal
        except TelegramConflictError:
            retries += 1
            if retries > MAX_CONFLICT_RETRIES:
                logger.error("409 Conflict after %d retries: giving up on polling", MAX_CONFLICT_RETRIES)
                await asyncio.Event().wait()  # keep the process up for the logs
            logger.warning("409 Conflict: retry %d/%d in %d s", retries, MAX_CONFLICT_RETRIES, RETRY_DELAY * retries)
            await asyncio.sleep(RETRY_DELAY * retries)


if __name__ == "__main__":
    asyncio.run(main())
