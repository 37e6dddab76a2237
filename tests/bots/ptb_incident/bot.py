"""Telegram bot with enhanced protection against 409 Conflict on deploy.

- singleton lock so the bot can't be launched twice
- 10 s start-up delay to give the previous instance time to finish
- final conflict check (webhook status + probe getUpdates) before polling
- safe_start_polling: 5 attempts with growing waits, then a graceful exit
"""

import asyncio
import fcntl
import logging
import os
import sys
import time

from telegram import Update
from telegram.error import Conflict
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

logging.basicConfig(format="%(asctime)s - %(name)s - %(levelname)s - %(message)s", level=logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)
logger = logging.getLogger(__name__)

BOT_TOKEN = os.environ["BOT_TOKEN"]
API_URL = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")  # API server: tests/bots/test_real.py points it at a local fake
LOCK_FILE = os.environ.get("LOCK_FILE", "/tmp/telegram_bot.lock")
STARTUP_DELAY = float(os.environ.get("STARTUP_DELAY", "10"))  # was 3
MAX_ATTEMPTS = 5

lock_handle = None
conflict_detected = False


def acquire_singleton_lock() -> bool:
    """Hold an exclusive lock on LOCK_FILE for the life of the process."""
    global lock_handle
    lock_handle = open(LOCK_FILE, "w")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(lock_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock_handle.close()
        lock_handle = None
        return False
    lock_handle.write(str(os.getpid()))
    lock_handle.flush()
    return True


def handle_conflict_gracefully(reason: str) -> None:
    """Stop the bot and end the process with exit code 0 (no crash, no restart storm)."""
    logger.warning("%s - shutting down gracefully", reason)
    sys.exit(0)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text("Hi! I'm alive.")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(update.message.text)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    global conflict_detected
    if isinstance(context.error, Conflict):
        logger.warning("409 Conflict while polling: another instance is running")
        conflict_detected = True
        context.application.stop_running()
        return
    logger.error("Exception while handling an update", exc_info=context.error)


async def post_init(application: Application) -> None:
    logger.info("Waiting %s s for the previous instance to finish", STARTUP_DELAY)
    await asyncio.sleep(STARTUP_DELAY)
    # Final conflict check before polling.
    webhook = await application.bot.get_webhook_info()
    if webhook.url:
        handle_conflict_gracefully(f"a webhook is set ({webhook.url})")
    try:
        await application.bot.get_updates(limit=1, timeout=0)  # probe for an active poller
    except Conflict:
        handle_conflict_gracefully("another instance is polling")
    logger.info("No conflict detected, starting to poll")


def build_application() -> Application:
    application = Application.builder().token(BOT_TOKEN).base_url(API_URL + "/bot").post_init(post_init).build()
    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_error_handler(error_handler)
    return application


def safe_start_polling(application: Application) -> None:
    global conflict_detected
    for attempt in range(MAX_ATTEMPTS):
        conflict_detected = False
        application.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)
        if not conflict_detected:
            return  # stopped normally (SIGTERM / Ctrl-C)
        if attempt + 1 < MAX_ATTEMPTS:
            wait = (attempt + 1) * 5
            logger.warning("Conflict on attempt %d/%d, retrying in %d s", attempt + 1, MAX_ATTEMPTS, wait)
            time.sleep(wait)
    handle_conflict_gracefully(f"still conflicting after {MAX_ATTEMPTS} attempts")


def main() -> None:
    if not acquire_singleton_lock():
        logger.error("Another instance is already running (%s is locked)", LOCK_FILE)
        sys.exit(0)
    logger.info("Lock acquired (%s), pid %d", LOCK_FILE, os.getpid())
    safe_start_polling(build_application())


if __name__ == "__main__":
    main()
