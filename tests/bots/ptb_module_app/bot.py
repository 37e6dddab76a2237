"""Entry point: the Application is built at import time, with the handlers from handlers.py."""

import logging

from telegram.ext import Application

import config
import handlers

logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(name)s: %(message)s")

application = Application.builder().token(config.BOT_TOKEN).base_url(config.API_URL + "/bot").build()
application.add_handlers(handlers.HANDLERS)
application.add_error_handler(handlers.on_error)

if __name__ == "__main__":
    application.run_polling(drop_pending_updates=True)
