"""An echo bot that polls only while it holds a lease in Redis.

    TELEGRAM_BOT_TOKEN=...  REDIS_URL=redis://127.0.0.1:6379/0  python lease_bot.py

Start as many copies as you like (old and new during a deploy): one polls, the others
wait for the lease; SIGTERM hands it over. TELEGRAM_API points it at another server,
e.g. http://127.0.0.1:8081/bot for `fake-telegram serve`.
"""

import asyncio
import os
import socket

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from simbot.startup import LeasePolicy, run
from simbot.startup.stores.redis import RedisStore


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


def main() -> None:
    builder = ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"])
    if api := os.environ.get("TELEGRAM_API"):
        builder = builder.base_url(api)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    store = RedisStore.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    policy = LeasePolicy(store, owner=f"{socket.gethostname()}:{os.getpid()}")
    asyncio.run(run(app, policy))


if __name__ == "__main__":
    main()
