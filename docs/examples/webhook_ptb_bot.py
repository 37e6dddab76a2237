"""A python-telegram-bot echo bot served by webhook, safe across deploys.

    TELEGRAM_BOT_TOKEN=...  WEBHOOK_URL=https://bot.onrender.com  WEBHOOK_SECRET=...  python webhook_ptb_bot.py

Run it as a web service (Render, Heroku, a Kubernetes Deployment behind an ingress): the
platform terminates TLS and forwards to $PORT, which the policy listens on, on every
interface. WEBHOOK_URL is the service's public address (Telegram POSTs to WEBHOOK_URL/telegram)
and WEBHOOK_SECRET a fixed secret you set once in the dashboard: the same for every deploy.
Old and new instances may overlap during a deploy: nothing is dropped, the webhook is never
deleted, a start only re-sets what is already set, and an update Telegram re-sends to the same
process is handled once. TELEGRAM_API points it at another Bot API server.
"""

import asyncio
import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from simbot.startup import WebhookPolicy, run


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


def main() -> None:
    builder = ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"])
    if api := os.environ.get("TELEGRAM_API"):
        builder = builder.base_url(api)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    asyncio.run(run(app, WebhookPolicy()))  # URL, secret and PORT from the environment


if __name__ == "__main__":
    main()
