"""Broken on purpose: reads a missing environment variable at import.

Started without BOT_TOKEN it dies with KeyError before it sends a single request
(exit status 1). simbot must report the crash (ERROR), never a PASS.
"""

import logging
import os

from telegram.ext import Application, MessageHandler, filters

TOKEN = os.environ["BOT_TOKEN"]
API_URL = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")  # API server: tests/bots/test_real.py points it at a local fake

logging.basicConfig(level=logging.INFO)


async def echo(update, context):
    await update.message.reply_text(update.message.text)


if __name__ == "__main__":
    app = Application.builder().token(TOKEN).base_url(API_URL + "/bot").build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling()
