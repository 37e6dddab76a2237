"""Echo bot that polls only while it holds a Redis lock: `SET bot:lock ID NX PX 6000`, renewed.

Where the pattern comes from: the distributed-lock answers in 409 threads ("use a Redis lock so
only one instance polls") and bots that ship one: a key set with NX and a TTL of a few seconds at
start, a background task that extends it every ~2 s (PEXPIRE), waiting while another instance
holds it, and the key deleted in shutdown after the bot stopped polling, so the next one can go.
"""

import asyncio
import logging
import os
import socket

import redis.asyncio as redis
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

logging.basicConfig(format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO)
logger = logging.getLogger(__name__)

LOCK_KEY = "bot:lock"
LOCK_TTL_MS = 6000
RENEW_EVERY = 2.0
INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}"

store = redis.Redis.from_url(os.getenv("REDIS_URL", "redis://localhost:6379/0"))


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


async def keep_lock() -> None:
    while True:
        await asyncio.sleep(RENEW_EVERY)
        await store.pexpire(LOCK_KEY, LOCK_TTL_MS)


async def acquire_lock(app: Application) -> None:
    while not await store.set(LOCK_KEY, INSTANCE_ID, nx=True, px=LOCK_TTL_MS):
        logger.info("Another instance holds %s, waiting", LOCK_KEY)
        await asyncio.sleep(RENEW_EVERY)
    logger.info("Acquired %s as %s", LOCK_KEY, INSTANCE_ID)
    app.bot_data["renewer"] = asyncio.create_task(keep_lock())


async def release_lock(app: Application) -> None:
    renewer = app.bot_data.get("renewer")
    if renewer is not None:
        renewer.cancel()
        await store.delete(LOCK_KEY)  # only now: the updater has stopped polling
        logger.info("Released %s", LOCK_KEY)
    await store.aclose()


def main() -> None:
    app = (ApplicationBuilder().token(os.environ["BOT_TOKEN"])
           .post_init(acquire_lock).post_shutdown(release_lock).build())  # fmt: skip
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling()


if __name__ == "__main__":
    main()
