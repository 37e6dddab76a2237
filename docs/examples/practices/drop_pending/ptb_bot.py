"""Echo bot that starts clean: no webhook, and the updates that queued while it was down dropped.

Where the pattern comes from: python-telegram-bot's own `run_polling(drop_pending_updates=True)`
(its bootstrap sends deleteWebhook(drop_pending_updates=True)), the usual answer in 409 and
"old messages replayed after restart" threads; the trade-off (messages sent during a restart are
lost) is discussed in app issue threads that went back to `drop_pending_updates=False`.
"""

import logging
import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

logging.basicConfig(format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


def main() -> None:
    app = ApplicationBuilder().token(os.environ["BOT_TOKEN"]).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling(drop_pending_updates=True)


if __name__ == "__main__":
    main()
