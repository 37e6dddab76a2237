"""Bot template: clear any webhook and stale updates, then long-poll."""

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher, Router, types
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters.command import Command

logging.basicConfig(level=logging.INFO)

BOT_TOKEN = os.environ["BOT_TOKEN"]
API_URL = os.getenv("TELEGRAM_API_URL")  # API server: tests/bots/test_real.py points it at a local fake

router = Router()


@router.message(Command("start"))
async def cmd_start(message: types.Message) -> None:
    await message.answer("Hello!")


@router.message()
async def any_message(message: types.Message) -> None:
    await message.answer(f"Got it: {message.text}")


async def main() -> None:
    bot = Bot(token=BOT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(API_URL)) if API_URL else None)
    dp = Dispatcher()
    dp.include_router(router)
    # Skip the updates that piled up while the bot was down, and make sure no webhook is set
    await bot.delete_webhook(drop_pending_updates=True)
    await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types())


if __name__ == "__main__":
    asyncio.run(main())
