import asyncio
import logging
import sys
from os import getenv

from aiogram import Bot, Dispatcher, html
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.filters import CommandStart
from aiogram.types import Message

# Token from @BotFather
TOKEN = getenv("BOT_TOKEN")
API_URL = getenv("TELEGRAM_API_URL")  # API server: tests/bots/test_real.py points it at a local fake

# Handlers are attached to the dispatcher itself
dp = Dispatcher()


@dp.message(CommandStart())
async def on_start(message: Message) -> None:
    await message.answer(f"Hello, {html.bold(message.from_user.full_name)}!")


@dp.message()
async def echo(message: Message) -> None:
    """Send a copy of whatever was received."""
    try:
        await message.send_copy(chat_id=message.chat.id)
    except TypeError:
        # not every message type can be copied
        await message.answer("Nice try!")


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(API_URL)) if API_URL else None  # API server (see above)
    bot = Bot(token=TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    await dp.start_polling(bot)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    asyncio.run(main())
