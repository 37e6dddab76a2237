"""The reference workload's bot written as users write it: a script whose main() calls run_polling().

What ``simbot.drivers.ptb:naive`` does through the async contract, so the ``program`` case
measures only what running a program costs (greenlets, isolation, the process's loop view).
"""

import logging
import os

from telegram import Update
from telegram.ext import Application, TypeHandler


async def seen(update: Update, context: object) -> None:
    return None


def main() -> None:
    if os.environ.get("BENCH_QUIET"):  # bench only: what the run costs without the bot's own logging
        logging.disable(logging.CRITICAL)
    app = Application.builder().token(os.environ["TELEGRAM_BOT_TOKEN"]).build()
    app.add_handler(TypeHandler(Update, seen), group=-1000)
    app.run_polling()


if __name__ == "__main__":
    main()
