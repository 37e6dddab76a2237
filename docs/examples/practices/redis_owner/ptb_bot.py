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

import redis.asyncio as redis
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

logging.basicConfig(format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO)
logger = logging.getLogger(__name__)

OWNER_KEY = "bot:owner"
CHECK_EVERY = 10.0
INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}"

store = redis.Redis.from_url(os.getenv("REDIS_URL", "redis://localhost:6379/0"), decode_responses=True)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


async def watch_ownership(app: Application) -> None:
    while True:
        await asyncio.sleep(CHECK_EVERY)
        owner = await store.hget(OWNER_KEY, "instance")
        if owner != INSTANCE_ID:
            logger.warning("%s is the owner now, stopping", owner)
            app.stop_running()
            return
        await store.hset(OWNER_KEY, "ts", int(time.time()))


async def claim(app: Application) -> None:
    await store.hset(OWNER_KEY, mapping={"instance": INSTANCE_ID, "ts": int(time.time())})
    logger.info("Claimed %s as %s", OWNER_KEY, INSTANCE_ID)
    app.bot_data["watcher"] = asyncio.create_task(watch_ownership(app))


async def shutdown(app: Application) -> None:
    watcher = app.bot_data.get("watcher")
    if watcher is not None:
        watcher.cancel()
    await store.aclose()


def main() -> None:
    app = ApplicationBuilder().token(os.environ["BOT_TOKEN"]).post_init(claim).post_shutdown(shutdown).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling()


if __name__ == "__main__":
    main()
