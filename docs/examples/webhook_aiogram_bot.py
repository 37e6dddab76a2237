"""An aiogram 3 echo bot served by webhook, safe across deploys.

    TELEGRAM_BOT_TOKEN=...  WEBHOOK_URL=https://bot.onrender.com  WEBHOOK_SECRET=...  python webhook_aiogram_bot.py

An ordinary aiogram bot (a module-level Dispatcher, a handler) started with
``simbot.startup.aiogram_webhook.run`` instead of ``web.run_app``, and without a startup hook
that sets the webhook: the policy sets it (with WEBHOOK_URL/webhook, the fixed WEBHOOK_SECRET,
no drop, a 429 waited out), never deletes it, listens on 0.0.0.0:$PORT, handles an update
Telegram re-sends to the same process once, and at SIGTERM lets the handlers of accepted
updates finish. TELEGRAM_API_SERVER points it at another Bot API server.
"""

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

from simbot.startup.aiogram_webhook import AiogramWebhook, run

dp = Dispatcher()


@dp.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "")


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    api = os.environ.get("TELEGRAM_API_SERVER")
    session = AiohttpSession(api=TelegramAPIServer.from_base(api)) if api else None
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=session)
    asyncio.run(run(dp, bot, AiogramWebhook()))  # URL, secret and PORT from the environment


if __name__ == "__main__":
    main()
