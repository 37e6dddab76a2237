"""An ordinary PTB bot: sync main(), time.sleep before building, a post_init that sleeps, run_polling()."""

import asyncio
import os
import time

from telegram.ext import Application, MessageHandler, filters


async def echo(update, context):
    await update.message.reply_text(update.message.text)


async def post_init(app):
    await asyncio.sleep(10)


def main():
    time.sleep(2)
    app = Application.builder().token(os.environ["BOT_TOKEN"]).post_init(post_init).build()
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling()


if __name__ == "__main__":
    main()
