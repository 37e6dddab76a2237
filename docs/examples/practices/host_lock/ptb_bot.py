"""Echo bot that refuses to start while bot.pid names a live process: "only one instance".

Where the pattern comes from: the singleton lock of a 409-on-Render incident's shipped fix and
the PID-file answers in 409 threads ("make sure only one instance runs"); a PID file, like a
lock file, lives on one machine's disk, and each container has its own.
"""

import atexit
import logging
import os
import sys
from pathlib import Path

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

logging.basicConfig(format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO)
logger = logging.getLogger(__name__)

PID_FILE = Path(os.getenv("PID_FILE", "/tmp/bot.pid"))


def another_instance() -> int | None:
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    return pid


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


def main() -> None:
    if (pid := another_instance()) is not None:
        logger.error("Bot is already running (pid %d), exiting", pid)
        sys.exit(1)
    PID_FILE.write_text(str(os.getpid()))
    atexit.register(PID_FILE.unlink, missing_ok=True)
    app = ApplicationBuilder().token(os.environ["BOT_TOKEN"]).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling()


if __name__ == "__main__":
    main()
