"""Echo bot that sleeps before it polls, "to give the previous instance time to finish".

Where the pattern comes from: the shipped fix of a 409-on-Render incident report (start-up delay
raised from 3 s to 10 s), start-up grace delays added to bots after restart overlaps (issue → PR
threads), and the common answer in 409 threads: wait longer than the old instance's poll.
"""

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher, F
from aiogram.types import Message

logging.basicConfig(level=logging.INFO)

STARTUP_DELAY = float(os.getenv("STARTUP_DELAY", "10"))

dp = Dispatcher()


@dp.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def main() -> None:
    bot = Bot(token=os.environ["BOT_TOKEN"])
    logging.info("Waiting %.0f s for the previous instance to shut down", STARTUP_DELAY)
    await asyncio.sleep(STARTUP_DELAY)
    await dp.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
