"""Reminder-style bot run by hand or from cron on a small VPS.

Keeps ./bot.pid so a second copy started by mistake refuses to run; reads its
token from .env (python-dotenv if it is installed, a tiny parser otherwise).
"""

import atexit
import logging
import os
import sys
from pathlib import Path

from telegram import Update
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes, MessageHandler, filters

PID_FILE = Path("bot.pid")
ENV_FILE = Path(".env")

log = logging.getLogger("pidbot")


def load_env(path: Path) -> None:
    try:
        from dotenv import load_dotenv
    except ImportError:
        if not path.exists():
            return
        for line in path.read_text().splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))
    else:
        load_dotenv(path)


def already_running() -> int | None:
    """The pid in PID_FILE if that process is still alive."""
    try:
        pid = int(PID_FILE.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid  # alive, but someone else's
    return pid


def remove_pid_file() -> None:
    if PID_FILE.exists() and PID_FILE.read_text().strip() == str(os.getpid()):
        PID_FILE.unlink()
        log.info("removed %s", PID_FILE)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text("Hello! Send me something and I'll repeat it.")


async def repeat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text(f"You said: {update.message.text}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    load_env(ENV_FILE)
    pid = already_running()
    if pid is not None:
        log.error("bot is already running with pid %d (see %s)", pid, PID_FILE)
        sys.exit(1)
    PID_FILE.write_text(str(os.getpid()))
    atexit.register(remove_pid_file)
    log.info("started with pid %d", os.getpid())

    app = ApplicationBuilder().token(os.environ["BOT_TOKEN"]).base_url(os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org") + "/bot").build()  # API server: tests/bots/test_real.py points it at a local fake
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, repeat))
    app.run_polling()


if __name__ == "__main__":
    main()
