"""Echo bot that holds an exclusive flock on a lock file for its whole life: "only one instance".

Where the pattern comes from: the singleton lock of a 409-on-Render incident's shipped fix
(`fcntl.flock(LOCK_EX | LOCK_NB)` on a file in /tmp) and the lock-file answers in 409 threads;
the lock lives in one machine's kernel, and each container is a machine of its own.
"""

import asyncio
import fcntl
import logging
import os
import sys

from aiogram import Bot, Dispatcher, F
from aiogram.types import Message

logging.basicConfig(level=logging.INFO)

LOCK_FILE = os.getenv("LOCK_FILE", "/tmp/bot.lock")

dp = Dispatcher()


@dp.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def main() -> None:
    bot = Bot(token=os.environ["BOT_TOKEN"])
    await dp.start_polling(bot)


if __name__ == "__main__":
    lock = open(LOCK_FILE, "a")  # noqa: SIM115 kept open: the lock lasts as long as the process
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        logging.error("Another instance holds %s, exiting", LOCK_FILE)
        sys.exit(1)
    asyncio.run(main())
