"""getMe and the methods a bot calls around start-up; what it sends goes to an outbox.

The fake does not deliver messages anywhere. It answers the way Telegram would
for a reachable chat and records the request, so a test can assert what a bot said.
"""

from __future__ import annotations

from typing import Any

from .bot import Bot
from .envelope import Response, error, ok
from .log import Exchange
from .params import Params, to_int

MAX_TEXT = 4096  # characters; TDLib's message_text_length_max (checked after the chat, upstream)


def me(bot: Bot) -> dict[str, Any]:
    return {
        "id": bot.id,
        "is_bot": True,
        "first_name": "Fake Bot",
        "username": f"fake{bot.id}_bot",
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def get_me(bot: Bot, exchange: Exchange, params: Params) -> Response:
    return ok(me(bot))


def _chat(text: str) -> dict[str, Any] | None:
    chat_id = to_int(text) if text.lstrip("-").isdigit() else 0
    if chat_id > 0:
        return {"id": chat_id, "first_name": "User", "type": "private"}
    if chat_id < -1_000_000_000_000:
        return {"id": chat_id, "title": "Supergroup", "type": "supergroup"}
    if chat_id < 0:
        return {"id": chat_id, "title": "Group", "type": "group"}
    return None


def send_message(bot: Bot, exchange: Exchange, params: Params) -> Response:
    text = params.text("text")  # the text is checked before chat_id (Client.cpp:12895, 11401)
    if not text.strip():
        return error(400, "Bad Request: message text is empty")
    target = params.text("chat_id")
    if not target:
        return error(400, "Bad Request: chat_id is empty")
    chat = _chat(target)
    if chat is None:
        return error(400, "Bad Request: chat not found")
    if len(text) > MAX_TEXT:
        return error(400, "Bad Request: message is too long")
    bot.outbox.append(exchange)
    bot.last_message_id += 1
    message = {
        "message_id": bot.last_message_id,
        "from": me(bot),
        "chat": chat,
        "date": int(bot.unix()),
        "text": text,
    }
    return ok(message)


def recorded(result: Any):  # type: ignore[no-untyped-def]
    """A method that only needs to succeed: record it, answer ``result``."""

    def handler(bot: Bot, exchange: Exchange, params: Params) -> Response:
        bot.outbox.append(exchange)
        return ok(result)

    return handler


def constant(result: Any):  # type: ignore[no-untyped-def]
    """A read-only method with a fixed answer."""

    def handler(bot: Bot, exchange: Exchange, params: Params) -> Response:
        return ok(result)

    return handler


HANDLERS = {
    "getMe": get_me,
    "sendMessage": send_message,
    "getMyName": constant({"name": "Fake Bot"}),
    "getMyCommands": constant([]),
    "getMyDescription": constant({"description": ""}),
    "getMyShortDescription": constant({"short_description": ""}),
    "getChatMenuButton": constant({"type": "default"}),
    **{
        name: recorded(True)
        for name in (
            "setMyCommands", "deleteMyCommands", "setMyDescription", "setMyShortDescription",
            "setMyName", "setChatMenuButton", "setMyDefaultAdministratorRights",
            "sendChatAction", "answerCallbackQuery", "answerInlineQuery", "deleteMessage",
            "setMessageReaction", "pinChatMessage", "unpinChatMessage", "leaveChat",
        )
    },
}
