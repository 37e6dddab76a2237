"""Echo bot that polls only while it holds a Redis lock: `SET bot:lock ID NX PX 6000`, renewed.

Where the pattern comes from: the distributed-lock answers in 409 threads ("use a Redis lock so
only one instance polls") and aiogram bots that ship one around `start_polling`: a key set with
NX and a TTL of a few seconds, a background task that extends it every ~2 s (PEXPIRE), waiting
while another instance holds it, and the key deleted in `finally` once polling has stopped.
"""

import asyncio
import logging
import os
import socket

from aiogram import Bot, Dispatcher, F
from aiogram.types import Message
from redis.asyncio import Redis

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger(__name__)

LOCK_KEY = "bot:lock"
LOCK_TTL_MS = 6000
RENEW_EVERY = 2.0
INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}"

dp = Dispatcher()


@dp.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def keep_lock(store: Redis) -> None:
    while True:
        await asyncio.sleep(RENEW_EVERY)
        await store.pexpire(LOCK_KEY, LOCK_TTL_MS)


async def main() -> None:
    store = Redis.from_url(os.getenv("REDIS_URL", "redis://localhost:6379/0"))
    while not await store.set(LOCK_KEY, INSTANCE_ID, nx=True, px=LOCK_TTL_MS):
        logger.info("Another instance holds %s, waiting", LOCK_KEY)
        await asyncio.sleep(RENEW_EVERY)
    logger.info("Acquired %s as %s", LOCK_KEY, INSTANCE_ID)
    renewer = asyncio.create_task(keep_lock(store))
    bot = Bot(token=os.environ["BOT_TOKEN"])
    try:
        await dp.start_polling(bot)
    finally:
        renewer.cancel()
        await store.delete(LOCK_KEY)  # only now: start_polling has returned, nothing polls
        logger.info("Released %s", LOCK_KEY)
        await store.aclose()


if __name__ == "__main__":
    asyncio.run(main())
