"""Echo bot that polls while a Redis record names it the owner: `HSET bot:owner instance ID ts NOW`.

Where the pattern comes from: "leader" records in bots that run several workers on one token
(a hash in Redis naming the instance that should poll, with a heartbeat timestamp) and the
answers in 409 threads that suggest one: each worker writes itself as owner when it starts (the
last write wins: the newest deploy takes over), checks the record periodically, and stops
polling once it names someone else.
"""

import asyncio
import logging
import os
import socket
import time

from aiogram import Bot, Dispatcher, F
from aiogram.types import Message
from redis.asyncio import Redis

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger(__name__)

OWNER_KEY = "bot:owner"
CHECK_EVERY = 10.0
INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}"

dp = Dispatcher()


@dp.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def watch_ownership(store: Redis) -> None:
    while True:
        await asyncio.sleep(CHECK_EVERY)
        owner = await store.hget(OWNER_KEY, "instance")
        if owner != INSTANCE_ID:
            logger.warning("%s is the owner now, stopping", owner)
            await dp.stop_polling()
            return
        await store.hset(OWNER_KEY, "ts", int(time.time()))


async def main() -> None:
    store = Redis.from_url(os.getenv("REDIS_URL", "redis://localhost:6379/0"), decode_responses=True)
    await store.hset(OWNER_KEY, mapping={"instance": INSTANCE_ID, "ts": int(time.time())})
    logger.info("Claimed %s as %s", OWNER_KEY, INSTANCE_ID)
    watcher = asyncio.create_task(watch_ownership(store))
    bot = Bot(token=os.environ["BOT_TOKEN"])
    try:
        await dp.start_polling(bot)
    finally:
        watcher.cancel()
        await store.aclose()


if __name__ == "__main__":
    asyncio.run(main())
