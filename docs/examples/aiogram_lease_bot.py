"""An aiogram 3 echo bot that polls only while it holds a lease in Redis.

    TELEGRAM_BOT_TOKEN=...  REDIS_URL=redis://127.0.0.1:6379/0  python aiogram_lease_bot.py

An ordinary aiogram bot (a module-level Dispatcher, a handler) started with
``simbot.startup.aiogram.run`` instead of ``dp.start_polling``. Start as many copies as you
like (old and new during a deploy): one polls, the others wait for the lease; SIGTERM hands
it over. TELEGRAM_API_SERVER points it at another Bot API server, e.g.
http://127.0.0.1:8081 for `fake-telegram serve`.
"""

import asyncio
import logging
import os
import socket

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

from simbot.startup.aiogram import AiogramLease, run
from simbot.startup.stores.redis import RedisStore

dp = Dispatcher()


@dp.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "")


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    api = os.environ.get("TELEGRAM_API_SERVER")
    session = AiohttpSession(api=TelegramAPIServer.from_base(api)) if api else None
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=session)
    store = RedisStore.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    policy = AiogramLease(store, owner=f"{socket.gethostname()}:{os.getpid()}")
    asyncio.run(run(dp, bot, policy))


if __name__ == "__main__":
    main()
