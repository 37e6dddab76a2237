"""A webhook bot whose start-up does more after setWebhook: the webhook is set seconds before its port is
bound (PTB's run_webhook has the same order: setWebhook, then listen). aiogram + aiohttp, run as a script."""

import asyncio
import os

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

router = Router()


@router.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "?")


async def on_startup(bot: Bot) -> None:
    await bot.set_webhook(os.environ["BASE_WEBHOOK_URL"] + "/webhook")
    await asyncio.sleep(3)  # warm caches, connect a database… before aiohttp binds the port


def main() -> None:
    dp = Dispatcher()
    dp.include_router(router)
    dp.startup.register(on_startup)
    bot = Bot(token=os.environ["BOT_TOKEN"])
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot).register(app, path="/webhook")
    setup_application(app, dp, bot=bot)
    web.run_app(app, host="0.0.0.0", port=int(os.environ["PORT"]))


if __name__ == "__main__":
    main()
