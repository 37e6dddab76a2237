import logging
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from handlers import router

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-8s %(name)s - %(message)s")


def main() -> None:
    api_url = os.getenv("TELEGRAM_API_URL")  # API server: tests/bots/test_real.py points it at a local fake
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)) if api_url else None)
    dp = Dispatcher()
    dp.include_router(router)
    dp.run_polling(bot)


if __name__ == "__main__":
    main()
