"""A PTB webhook bot as the Heroku tutorials write it: the app's own domain typed into the code,
the token as the URL path."""

import logging
import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

logging.basicConfig(format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)

TOKEN = os.environ["TOKEN"]
PORT = int(os.environ.get("PORT", "8443"))
APP_NAME = os.environ.get("APP_NAME", "my-echo-bot")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


def main() -> None:
    application = Application.builder().token(TOKEN).build()
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.run_webhook(listen="0.0.0.0", port=PORT, url_path=TOKEN,
                            webhook_url=f"https://{APP_NAME}.herokuapp.com/{TOKEN}")


if __name__ == "__main__":
    main()
