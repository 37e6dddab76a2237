"""aiogram with a session the bot builds itself (a proxy or a local Bot API server is the usual reason)."""

import asyncio
import os

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dp = Dispatcher()


@dp.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base("http://localhost:8081"), timeout=30)
    await dp.start_polling(Bot(token=os.environ["BOT_TOKEN"], session=session))


if __name__ == "__main__":
    asyncio.run(main())
