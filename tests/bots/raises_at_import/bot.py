"""Broken on purpose: reads a setting nobody set, at import.

The token is there (simbot sets BOT_TOKEN), but ``ADMIN_CHAT_ID`` is not: the bot dies with
KeyError before it sends a single request (exit status 1). simbot must report the crash
(ERROR), never a PASS.
"""

import logging
import os

from telegram.ext import Application, MessageHandler, filters

TOKEN = os.environ["BOT_TOKEN"]
ADMIN_CHAT_ID = int(os.environ["ADMIN_CHAT_ID"])
API_URL = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")  # API server: tests/bots/test_real.py points it at a local fake

logging.basicConfig(level=logging.INFO)


async def echo(update, context):
    await update.message.reply_text(update.message.text)


if __name__ == "__main__":
    app = Application.builder().token(TOKEN).base_url(API_URL + "/bot").build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling()
