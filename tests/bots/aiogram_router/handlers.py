"""All handlers live on this module-level router; bot.py includes it in its dispatcher."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import Message

router = Router(name="main")

BANNED_WORDS = ("spam", "casino")


def is_clean(message: Message) -> bool:
    """A plain (sync) filter: aiogram runs it in a worker thread."""
    return not any(word in message.text.lower() for word in BANNED_WORDS)


@router.message(Command("ping"))
def ping(message: Message) -> SendMessage:
    # A sync handler: the returned method is sent by the dispatcher.
    return message.answer("pong")


@router.message(F.text, is_clean)
async def echo(message: Message) -> None:
    await message.reply(message.text)


@router.message(F.text)
async def refuse(message: Message) -> None:
    await message.reply("Let's keep it clean.")
