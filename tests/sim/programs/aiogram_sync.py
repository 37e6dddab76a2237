"""aiogram's own echo-bot layout: module-level Dispatcher and Router, a sync filter, dp.run_polling(bot)."""

import os

from aiogram import Bot, Dispatcher, F, Router
from aiogram.types import Message

router = Router()
dp = Dispatcher()


@router.message(F.text)
async def echo(message: Message) -> None:
    await message.answer(message.text)


def main() -> None:
    dp.include_router(router)
    bot = Bot(os.environ["BOT_TOKEN"])
    dp.run_polling(bot)


if __name__ == "__main__":
    main()
