"""Echo bot that sleeps before it polls, "to give the previous instance time to finish".

Where the pattern comes from: the shipped fix of a 409-on-Render incident report (start-up delay
raised from 3 s to 10 s), the "startup grace delay" that apps built on python-telegram-bot added
after restart overlaps (issue → PR threads), and the common answer in 409 threads: wait longer
than the old instance's poll before the first getUpdates.
"""

import logging
import os
import time

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

logging.basicConfig(format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO)
logger = logging.getLogger(__name__)

STARTUP_DELAY = float(os.getenv("STARTUP_DELAY", "10"))


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


def main() -> None:
    app = ApplicationBuilder().token(os.environ["BOT_TOKEN"]).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    logger.info("Waiting %.0f s for the previous instance to shut down", STARTUP_DELAY)
    time.sleep(STARTUP_DELAY)
    app.run_polling()


if __name__ == "__main__":
    main()
