"""Echo bot that exits when Telegram says another instance is polling, for the platform to restart.

Where the pattern comes from: bots whose error handler calls `sys.exit(1)` on `Conflict` and run
under Docker's `restart: always` (issue threads: a restart loop while the other copy lives),
and answers in 409 threads to "just exit and let the supervisor restart you".
"""

import logging
import os
import sys

from telegram import Update
from telegram.error import Conflict
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

logging.basicConfig(format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO)
logger = logging.getLogger(__name__)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    if isinstance(context.error, Conflict):
        logger.critical("Another instance is polling with this token. Exiting.")
        sys.exit(1)
    logger.error("Exception while handling an update:", exc_info=context.error)


def main() -> None:
    app = ApplicationBuilder().token(os.environ["BOT_TOKEN"]).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.add_error_handler(on_error)
    app.run_polling()


if __name__ == "__main__":
    main()
