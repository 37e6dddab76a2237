"""Command and message handlers; bot.py registers HANDLERS on its application."""

import logging

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes, MessageHandler, filters

import config

logger = logging.getLogger(__name__)

STATS = {"messages": 0}


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text("Welcome! Try /stats.")


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_user.id not in config.ADMIN_IDS:
        await update.message.reply_text("Admins only.")
        return
    await update.message.reply_text(f"{STATS['messages']} messages so far")


async def count_and_echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    STATS["messages"] += 1
    await update.message.reply_text(update.message.text.upper())


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    logger.warning("error: %s", context.error)


HANDLERS = [
    CommandHandler("start", start),
    CommandHandler("stats", stats),
    MessageHandler(filters.TEXT & ~filters.COMMAND, count_and_echo),
]
