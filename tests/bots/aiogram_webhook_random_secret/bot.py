"""Echo bot behind aiohttp, aiogram's webhook example with a secret nobody has to configure: a fresh
random one at every start (secrets.token_urlsafe), given to Telegram by set_webhook.

Telegram POSTs updates to BASE_WEBHOOK_URL + WEBHOOK_PATH; the platform's router (Render, Heroku, a
Kubernetes Service) forwards them to WEB_SERVER_HOST:WEB_SERVER_PORT.
"""

import logging
import secrets
import sys
from os import getenv

from aiogram import Bot, Dispatcher, Router, html
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.filters import CommandStart
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

# Bot token can be obtained via https://t.me/BotFather
TOKEN = getenv("BOT_TOKEN")
API_URL = getenv("TELEGRAM_API_URL")  # API server: tests/clients/test_webhook_bots.py points it at a local fake

# Webserver settings
WEB_SERVER_HOST = "0.0.0.0"  # the example's 127.0.0.1 is for a same-host nginx; a platform's router is not on our host
WEB_SERVER_PORT = int(getenv("PORT", "8080"))

# Path to webhook route, on which Telegram will send requests
WEBHOOK_PATH = "/webhook"
# Secret key to validate requests from Telegram (optional)
WEBHOOK_SECRET = secrets.token_urlsafe(32)  # a new one per start: nothing to leak, nothing to set
# Base URL for webhook will be used to generate webhook URL for Telegram
BASE_WEBHOOK_URL = getenv("BASE_WEBHOOK_URL", "https://aiogram.dev")

router = Router()


@router.message(CommandStart())
async def command_start_handler(message: Message) -> None:
    await message.answer(f"Hello, {html.bold(message.from_user.full_name)}!")


@router.message()
async def echo_handler(message: Message) -> None:
    """Send a copy of the received message back to the sender."""
    try:
        await message.send_copy(chat_id=message.chat.id)
    except TypeError:
        await message.answer("Nice try!")


async def on_startup(bot: Bot) -> None:
    # If you have a self-signed SSL certificate, then you will need to send a public
    # certificate to Telegram
    await bot.set_webhook(f"{BASE_WEBHOOK_URL}{WEBHOOK_PATH}", secret_token=WEBHOOK_SECRET)


def main() -> None:
    dp = Dispatcher()
    dp.include_router(router)
    dp.startup.register(on_startup)

    session = AiohttpSession(api=TelegramAPIServer.from_base(API_URL)) if API_URL else None  # API server (see above)
    bot = Bot(token=TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))

    app = web.Application()
    webhook_requests_handler = SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=WEBHOOK_SECRET)
    webhook_requests_handler.register(app, path=WEBHOOK_PATH)
    setup_application(app, dp, bot=bot)

    web.run_app(app, host=WEB_SERVER_HOST, port=WEB_SERVER_PORT)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    main()
