"""Broken on purpose: spins in sync code before it ever polls.

It waits for a "ready" file that nothing creates, in a busy loop that never sleeps.
A real process hangs at 100 % CPU; under simbot virtual time cannot advance either,
so the watchdog must stop the run and the verdict must be INCONCLUSIVE, never a PASS.
"""

import logging
import os

from telegram.ext import Application, MessageHandler, filters

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger(__name__)

TOKEN = os.environ["BOT_TOKEN"]
API_URL = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")  # API server: tests/bots/test_real.py points it at a local fake
READY_FILE = "migrations.done"


async def echo(update, context):
    await update.message.reply_text(update.message.text)


def wait_for_migrations() -> None:
    logger.info("waiting for %s", READY_FILE)
    while not os.path.exists(READY_FILE):
        pass


def main() -> None:
    wait_for_migrations()
    app = Application.builder().token(TOKEN).base_url(API_URL + "/bot").build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling()


if __name__ == "__main__":
    main()
