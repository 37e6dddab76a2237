"""An ordinary python-telegram-bot 22 echo bot, written as its docs write one (``python echo_ptb.py``).

simbot runs it unmodified: the token comes from ``BOT_TOKEN``, ``run_polling`` owns its loop."""

import logging
import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


def main() -> None:
    app = Application.builder().token(os.environ["BOT_TOKEN"]).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    print("echo bot starting")  # on the bot's stdout: never on `simbot check --json`'s
    app.run_polling()


if __name__ == "__main__":
    main()
