"""Echo bot that answers a 409 with a retry ladder: stop polling, wait longer each time, poll again.

Where the pattern comes from: apps built on python-telegram-bot that made a fatal 409 "retry
3 × 10 s" and later added a give-up (issue → PR threads), and their follow-ups: the counter is
reset by a sign of success, and after the last retry the process stays up with its updater
stopped, a silent "limbo" nobody restarts (it does not crash, so the platform sees it healthy).
"""

import asyncio
import logging
import os
import signal

from telegram import Update
from telegram.error import Conflict
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, TypeHandler, filters

logging.basicConfig(format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO)
logger = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 3
RETRY_DELAY = 10  # seconds, times the attempt number

conflict_retries = 0
retrying = False


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


async def polling_works(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    global conflict_retries
    conflict_retries = 0  # an update came in: polling works again


async def retry_polling(app: Application) -> None:
    global conflict_retries, retrying
    conflict_retries += 1
    await app.updater.stop()
    if conflict_retries > MAX_CONFLICT_RETRIES:
        logger.error("409 Conflict after %d retries: giving up on polling", MAX_CONFLICT_RETRIES)
        return
    delay = RETRY_DELAY * conflict_retries
    logger.warning("409 Conflict: retry %d/%d in %d s", conflict_retries, MAX_CONFLICT_RETRIES, delay)
    await asyncio.sleep(delay)
    await app.updater.start_polling(error_callback=on_polling_error)
    retrying = False


def on_polling_error(error: Exception) -> None:
    global retrying
    if isinstance(error, Conflict):
        if not retrying:
            retrying = True
            asyncio.get_running_loop().create_task(retry_polling(app))
    else:
        logger.error("Error while polling: %s", error)


app = ApplicationBuilder().token(os.environ["BOT_TOKEN"]).build()
app.add_handler(TypeHandler(Update, polling_works), group=-1)
app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with app:
        await app.start()
        await app.updater.start_polling(error_callback=on_polling_error)
        await stop.wait()
        if app.updater.running:
            await app.updater.stop()
        await app.stop()


if __name__ == "__main__":
    asyncio.run(main())
