#!/usr/bin/env python
"""Translation bot in webhook mode: Telegram POSTs each update to us; each translation takes a few seconds
(a call to a slow translation backend), then we answer.

Runs as a web service (Render, Heroku, a Kubernetes Deployment): the platform terminates TLS and forwards
to $PORT on this container, so the server listens on every interface.

Usage: BOT_TOKEN=... WEBHOOK_URL=https://bot.example.com WEBHOOK_SECRET=... python bot.py
"""

import asyncio
import logging
import os
import sys

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

logging.basicConfig(
    format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO, stream=sys.stdout
)
logging.getLogger("httpx").setLevel(logging.WARNING)
logger = logging.getLogger(__name__)

TOKEN = os.environ["BOT_TOKEN"]
WEBHOOK_URL = os.environ["WEBHOOK_URL"]  # the public address Telegram posts to
WEBHOOK_SECRET = os.environ.get("WEBHOOK_SECRET")  # Telegram sends it back in a header; others get 403
PORT = int(os.environ.get("PORT", "8443"))
URL_PATH = "telegram"


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text("Hi! Send me any text and I'll send it back.")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    logger.info("translating %r", update.message.text)
    await asyncio.sleep(5)  # the translation backend
    await update.message.reply_text(f"Translated: {update.message.text}")


def main() -> None:
    application = (
        Application.builder()
        .token(TOKEN)
        .base_url(os.getenv("TELEGRAM_API_URL", "https://api.telegram.org") + "/bot")  # API server: tests/clients/test_webhook_bots.py points it at a local fake
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))

    # setWebhook, then serve POSTs on 127.0.0.1:PORT/telegram until SIGINT/SIGTERM
    application.run_webhook(
        listen="0.0.0.0",
        port=PORT,
        url_path=URL_PATH,
        webhook_url=f"{WEBHOOK_URL}/{URL_PATH}",
        secret_token=WEBHOOK_SECRET,
        allowed_updates=Update.ALL_TYPES,
    )


if __name__ == "__main__":
    main()
