"""The methods an ordinary bot calls in its handlers and at start-up, through the frameworks' own ``Bot``s.

Each call goes through real python-telegram-bot 22 (``telegram.Bot`` over httpx, routed to the fake)
and real aiogram 3 (``aiogram.Bot`` with the fake's session): their ``de_json`` and pydantic models
must accept every result, and everything sent lands in the outbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiogram
import pytest
import telegram
from aiogram import types as at
from aiogram.methods import GetUpdates

from fake_telegram import FakeTelegram, mocked
from fake_telegram.transports.aiogram import FakeSession

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHAT = 1000
PHOTO = telegram.InputFile(b"\x89PNG fake bytes", filename="p.png")
KEYBOARD = telegram.InlineKeyboardMarkup([[telegram.InlineKeyboardButton("ok", callback_data="ok")]])
COMMANDS = [telegram.BotCommand("start", "Start the bot"), telegram.BotCommand("help", "Help")]

# (method, PTB call, aiogram call, what both results must look like)
Call = Callable[[Any], Any]
CASES: list[tuple[str, Call, Call, Callable[[Any], bool]]] = [
    ("sendMessage", lambda b: b.send_message(CHAT, "hi", reply_markup=KEYBOARD),
     lambda b: b.send_message(chat_id=CHAT, text="hi"), lambda m: m.text == "hi" and m.chat.id == CHAT),
    ("copyMessage", lambda b: b.copy_message(CHAT, CHAT, 1), lambda b: b.copy_message(chat_id=CHAT, from_chat_id=CHAT, message_id=1),
     lambda m: m.message_id > 0),
    ("forwardMessage", lambda b: b.forward_message(CHAT, CHAT, 1),
     lambda b: b.forward_message(chat_id=CHAT, from_chat_id=CHAT, message_id=1), lambda m: m.forward_origin.type == "user"),
    ("sendPhoto", lambda b: b.send_photo(CHAT, PHOTO, caption="c"),
     lambda b: b.send_photo(chat_id=CHAT, photo=at.BufferedInputFile(b"png", "p.png"), caption="c"),
     lambda m: len(m.photo) == 2 and m.caption == "c"),
    ("sendPhoto", lambda b: b.send_photo(CHAT, "AgAD-known-id"), lambda b: b.send_photo(chat_id=CHAT, photo="AgAD-known-id"),
     lambda m: m.photo[-1].file_id == "AgAD-known-id"),
    ("sendDocument", lambda b: b.send_document(CHAT, PHOTO), lambda b: b.send_document(chat_id=CHAT, document="https://x/y.pdf"),
     lambda m: m.document.file_id),
    ("sendAudio", lambda b: b.send_audio(CHAT, "a-id"), lambda b: b.send_audio(chat_id=CHAT, audio="a-id"), lambda m: m.audio.file_id),
    ("sendVideo", lambda b: b.send_video(CHAT, "v-id"), lambda b: b.send_video(chat_id=CHAT, video="v-id"), lambda m: m.video.width),
    ("sendVoice", lambda b: b.send_voice(CHAT, "o-id"), lambda b: b.send_voice(chat_id=CHAT, voice="o-id"), lambda m: m.voice.file_id),
    ("sendVideoNote", lambda b: b.send_video_note(CHAT, "n-id"), lambda b: b.send_video_note(chat_id=CHAT, video_note="n-id"),
     lambda m: m.video_note.length),
    ("sendAnimation", lambda b: b.send_animation(CHAT, "g-id"), lambda b: b.send_animation(chat_id=CHAT, animation="g-id"),
     lambda m: m.animation.file_id == "g-id"),
    ("sendSticker", lambda b: b.send_sticker(CHAT, "s-id"), lambda b: b.send_sticker(chat_id=CHAT, sticker="s-id"),
     lambda m: m.sticker.type == "regular"),
    ("sendLocation", lambda b: b.send_location(CHAT, 51.5, -0.1), lambda b: b.send_location(chat_id=CHAT, latitude=51.5, longitude=-0.1),
     lambda m: m.location.latitude == 51.5),
    ("sendVenue", lambda b: b.send_venue(CHAT, 1.0, 2.0, "T", "A"),
     lambda b: b.send_venue(chat_id=CHAT, latitude=1.0, longitude=2.0, title="T", address="A"), lambda m: m.venue.title == "T"),
    ("sendContact", lambda b: b.send_contact(CHAT, "+100", "Ann"),
     lambda b: b.send_contact(chat_id=CHAT, phone_number="+100", first_name="Ann"), lambda m: m.contact.first_name == "Ann"),
    ("sendPoll", lambda b: b.send_poll(CHAT, "Q?", ["a", "b"]), lambda b: b.send_poll(chat_id=CHAT, question="Q?", options=["a", "b"]),
     lambda m: [o.text for o in m.poll.options] == ["a", "b"]),
    ("sendDice", lambda b: b.send_dice(CHAT), lambda b: b.send_dice(chat_id=CHAT), lambda m: 1 <= m.dice.value <= 6),
    ("sendChatAction", lambda b: b.send_chat_action(CHAT, "typing"), lambda b: b.send_chat_action(chat_id=CHAT, action="typing"),
     lambda r: r is True),
    ("sendMediaGroup", lambda b: b.send_media_group(CHAT, [telegram.InputMediaPhoto("p1"), telegram.InputMediaPhoto("p2")]),
     lambda b: b.send_media_group(chat_id=CHAT, media=[at.InputMediaPhoto(media="p1"), at.InputMediaPhoto(media="p2")]),
     lambda ms: len(ms) == 2 and ms[0].media_group_id == ms[1].media_group_id),
    ("editMessageText", lambda b: b.edit_message_text("new", CHAT, 5),
     lambda b: b.edit_message_text(text="new", chat_id=CHAT, message_id=5), lambda m: m.text == "new" and m.message_id == 5),
    ("editMessageText", lambda b: b.edit_message_text("new", inline_message_id="i1"),
     lambda b: b.edit_message_text(text="new", inline_message_id="i1"), lambda r: r is True),
    ("editMessageCaption", lambda b: b.edit_message_caption(CHAT, 5, caption="c2"),
     lambda b: b.edit_message_caption(chat_id=CHAT, message_id=5, caption="c2"), lambda m: m.caption == "c2"),
    ("editMessageReplyMarkup", lambda b: b.edit_message_reply_markup(CHAT, 5, reply_markup=KEYBOARD),
     lambda b: b.edit_message_reply_markup(chat_id=CHAT, message_id=5, reply_markup=at.InlineKeyboardMarkup(
         inline_keyboard=[[at.InlineKeyboardButton(text="ok", callback_data="ok")]])),
     lambda m: m.reply_markup.inline_keyboard[0][0].text == "ok"),
    ("deleteMessage", lambda b: b.delete_message(CHAT, 5), lambda b: b.delete_message(chat_id=CHAT, message_id=5), lambda r: r is True),
    ("answerCallbackQuery", lambda b: b.answer_callback_query("cq1", "done"),
     lambda b: b.answer_callback_query(callback_query_id="cq1", text="done"), lambda r: r is True),
    ("answerInlineQuery", lambda b: b.answer_inline_query("iq1", []), lambda b: b.answer_inline_query(inline_query_id="iq1", results=[]),
     lambda r: r is True),
    ("setMyCommands", lambda b: b.set_my_commands(COMMANDS),
     lambda b: b.set_my_commands(commands=[at.BotCommand(command="start", description="Start the bot")]), lambda r: r is True),
    ("getMyCommands", lambda b: b.get_my_commands(), lambda b: b.get_my_commands(), lambda cs: cs[0].command == "start"),
    ("deleteMyCommands", lambda b: b.delete_my_commands(), lambda b: b.delete_my_commands(), lambda r: r is True),
    ("setMyDescription", lambda b: b.set_my_description("d"), lambda b: b.set_my_description(description="d"), lambda r: r is True),
    ("getMyDescription", lambda b: b.get_my_description(), lambda b: b.get_my_description(), lambda d: d.description == "d"),
    ("setMyShortDescription", lambda b: b.set_my_short_description("s"),
     lambda b: b.set_my_short_description(short_description="s"), lambda r: r is True),
    ("getMyShortDescription", lambda b: b.get_my_short_description(), lambda b: b.get_my_short_description(),
     lambda d: d.short_description == "s"),
    ("setMyName", lambda b: b.set_my_name("N"), lambda b: b.set_my_name(name="N"), lambda r: r is True),
    ("getMyName", lambda b: b.get_my_name(), lambda b: b.get_my_name(), lambda n: n.name == "N"),
    ("setChatMenuButton", lambda b: b.set_chat_menu_button(CHAT, telegram.MenuButtonCommands()),
     lambda b: b.set_chat_menu_button(chat_id=CHAT, menu_button=at.MenuButtonCommands()), lambda r: r is True),
    ("getChatMenuButton", lambda b: b.get_chat_menu_button(CHAT), lambda b: b.get_chat_menu_button(chat_id=CHAT),
     lambda m: m.type == "commands"),
    ("getChat", lambda b: b.get_chat(CHAT), lambda b: b.get_chat(chat_id=CHAT), lambda c: c.id == CHAT and c.type == "private"),
    ("getChat", lambda b: b.get_chat(-1_001_234_567_890), lambda b: b.get_chat(chat_id=-1_001_234_567_890),
     lambda c: c.type == "supergroup"),
    ("getChatMember", lambda b: b.get_chat_member(CHAT, CHAT), lambda b: b.get_chat_member(chat_id=CHAT, user_id=CHAT),
     lambda m: m.status == "member" and m.user.id == CHAT),
    ("getChatMemberCount", lambda b: b.get_chat_member_count(CHAT), lambda b: b.get_chat_member_count(chat_id=CHAT),
     lambda n: n == 2),
    ("getFile", lambda b: b.get_file("f-id"), lambda b: b.get_file(file_id="f-id"), lambda f: f.file_path),
    ("pinChatMessage", lambda b: b.pin_chat_message(CHAT, 5), lambda b: b.pin_chat_message(chat_id=CHAT, message_id=5),
     lambda r: r is True),
    ("getUserProfilePhotos", lambda b: b.get_user_profile_photos(CHAT), lambda b: b.get_user_profile_photos(user_id=CHAT),
     lambda p: p.total_count == 0),
    ("getMyDefaultAdministratorRights", lambda b: b.get_my_default_administrator_rights(),
     lambda b: b.get_my_default_administrator_rights(), lambda r: r.can_manage_chat is False),
]  # fmt: skip
SENDS = {"sendMessage", "copyMessage", "forwardMessage", "sendMediaGroup", "sendChatAction"} | {
    m for m, *_ in CASES if m.startswith(("send", "edit", "set", "delete", "answer", "pin"))}


def _ptb_results() -> tuple[list[Any], FakeTelegram]:
    fake = FakeTelegram(seed=0, clock=lambda: 0.0)  # not the real clock: two runs must answer alike

    async def main() -> list[Any]:
        async with telegram.Bot(TOKEN) as bot:
            return [await ptb(bot) for _, ptb, _, _ in CASES]

    with mocked(fake):
        return asyncio.run(main()), fake


def _aiogram_results() -> tuple[list[Any], FakeTelegram]:
    fake = FakeTelegram(seed=0, clock=lambda: 0.0)  # not the real clock: two runs must answer alike

    async def main() -> list[Any]:
        bot = aiogram.Bot(TOKEN, session=FakeSession(fake))
        return [await call(bot) for _, _, call, _ in CASES]

    return asyncio.run(main()), fake


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[list[Any], FakeTelegram]]:
    return {"ptb": _ptb_results(), "aiogram": _aiogram_results()}


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_every_result_parses_in_the_frameworks_own_models(results: Any, framework: str) -> None:
    got, fake = results[framework]
    wrong = [(i, method, result) for i, ((method, *_, looks_right), result) in enumerate(zip(CASES, got, strict=True))
             if not looks_right(result)]  # fmt: skip
    assert not wrong
    answered = [e.method for e in fake.log if e.method != "getMe"]
    assert answered == [m for m, *_ in CASES] and all(e.status == 200 for e in fake.log)


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_what_the_bot_sent_is_in_the_outbox_and_reads_are_not(results: Any, framework: str) -> None:
    _, fake = results[framework]
    assert [e.method for e in fake.outbox()] == [m for m, *_ in CASES if m in SENDS]


def test_message_and_file_ids_count_up_and_ids_stay_per_bot() -> None:
    got, _ = _aiogram_results()
    messages = [r for r in got if isinstance(r, at.Message)]
    new = [m.message_id for m, (name, *_) in zip(messages, [c for c, r in zip(CASES, got, strict=True)
                                                            if isinstance(r, at.Message)], strict=True)
           if not name.startswith("edit")]  # fmt: skip
    assert new == sorted(new) and len(set(new)) == len(new)
    assert got == _aiogram_results()[0]  # deterministic: the same calls, the same answers


@pytest.mark.parametrize(
    ("method", "body", "description"),
    [
        ("sendPhoto", "chat_id=1000", "Bad Request: there is no photo in the request"),
        ("sendPhoto", "photo=x", "Bad Request: chat_id is empty"),
        ("sendDocument", "chat_id=0&document=x", "Bad Request: chat not found"),
        ("sendPoll", "chat_id=1000&question=Q&options=%5B%22a%22%5D", "Bad Request: poll must have at least 2 option"),
        ("sendDice", "chat_id=1000&emoji=x", "Bad Request: invalid dice emoji specified"),
        ("sendLocation", "chat_id=1000&latitude=91&longitude=0", "Bad Request: wrong latitude or longitude"),
        ("editMessageText", "chat_id=1000&message_id=1&text=", "Bad Request: message text is empty"),
        ("editMessageText", "chat_id=1000&text=x", "Bad Request: message to edit not found"),
        ("copyMessage", "chat_id=1000&from_chat_id=1000", "Bad Request: message to copy not found"),
        ("sendMediaGroup", "chat_id=1000&media=%5B%5D", "Bad Request: there must be at least 2 and at most 10 media in a media group"),
        ("setMyCommands", "commands=nope", "Bad Request: can't parse commands JSON object"),
        ("getChatMember", "chat_id=1000", "Bad Request: invalid user_id specified"),
    ],
)
def test_bad_calls_are_refused_with_a_telegram_error_and_not_recorded(method: str, body: str, description: str) -> None:
    fake = FakeTelegram(clock=lambda: 0.0)
    exchange = fake.receive("POST", f"/bot{TOKEN}/{method}", {"content-type": "application/x-www-form-urlencoded"},
                            body.encode())  # fmt: skip
    assert (exchange.status, exchange.description) == (400, description)
    assert fake.outbox() == []


def test_commands_are_kept_per_scope_and_language() -> None:
    fake = FakeTelegram(clock=lambda: 0.0)
    form = {"content-type": "application/x-www-form-urlencoded"}

    def call(method: str, body: str) -> Any:
        return fake.receive("POST", f"/bot{TOKEN}/{method}", form, body.encode()).response.result  # type: ignore[union-attr]

    call("setMyCommands", 'commands=[{"command":"a","description":"A"}]&language_code=de')
    assert call("getMyCommands", "") == [] and call("getMyCommands", "language_code=de")[0]["command"] == "a"
    call("deleteMyCommands", "language_code=de")
    assert call("getMyCommands", "language_code=de") == []


def test_aiogram_reads_updates_after_all_that() -> None:
    """The extra methods leave polling as it was: a getUpdates still answers (the slot is untouched)."""
    fake = FakeTelegram(seed=0, clock=lambda: 0.0)  # not the real clock: two runs must answer alike

    async def main() -> Any:
        bot = aiogram.Bot(TOKEN, session=FakeSession(fake))
        await bot.send_message(chat_id=CHAT, text="x")
        return await bot(GetUpdates(timeout=0))

    assert asyncio.run(main()) == []
