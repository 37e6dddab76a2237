"""Broken on purpose: builds and initialises the bot, then waits for ever without polling.

The author meant to start the updater "later" and never did: getMe succeeds, the process
stays up, no getUpdates is ever sent, no update is handled. simbot must not call this a
PASS: liveness fails (no instance ever polls).
"""

import asyncio
import logging
import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger(__name__)

TOKEN = os.environ["BOT_TOKEN"]
API_URL = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")  # API server: tests/bots/test_real.py points it at a local fake


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


async def main() -> None:
    app = Application.builder().token(TOKEN).base_url(API_URL + "/bot").build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:  # initialize (getMe) ... shutdown
        await app.start()
        logger.info("bot %s is up", app.bot.username)
        await asyncio.Event().wait()  # "the updater is started elsewhere" - it never is


if __name__ == "__main__":
    asyncio.run(main())
