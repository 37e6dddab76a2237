"""getMe, sendMessage and the methods a bot calls around start-up; what it sends goes to an outbox.

The fake does not deliver messages anywhere. It answers the way Telegram would
for a reachable chat and records the request, so a test can assert what a bot said.
"""

from __future__ import annotations

import json
from typing import Any

from .bot import Bot
from .envelope import Response, error, ok
from .log import Exchange
from .params import Params

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


def chat_of(text: str) -> dict[str, Any] | None:
    """The chat a chat_id names: positive a user, below -10^12 a supergroup, else a group.

    Chat ids are 64-bit (``get_int64_arg``): a supergroup's -100… id must not wrap as an int32 would.
    """
    digits = text.removeprefix("-")
    chat_id = int(text) if digits.isascii() and digits.isdigit() and len(digits) <= 18 else 0
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
    chat = chat_of(target)
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


def _scope(params: Params) -> str:
    """Commands are kept per scope and language (as Telegram keeps them); the scope as sent, compacted."""
    text = params.text("scope")
    try:
        scope = json.loads(text) if text else {"type": "default"}
    except ValueError:
        scope = text
    return json.dumps(scope, sort_keys=True, separators=(",", ":")) + "|" + params.text("language_code")


def set_my_commands(bot: Bot, exchange: Exchange, params: Params) -> Response:
    try:
        commands = json.loads(params.text("commands") or "null")
    except ValueError:
        commands = None
    if not isinstance(commands, list) or not all(isinstance(c, dict) and c.get("command") and c.get("description")
                                                  for c in commands):  # fmt: skip
        return error(400, "Bad Request: can't parse commands JSON object")
    if len(commands) > 100:
        return error(400, "Bad Request: too many commands specified")
    bot.outbox.append(exchange)
    bot.profile[("commands", _scope(params))] = [{"command": c["command"], "description": c["description"]} for c in commands]
    return ok(True)


def delete_my_commands(bot: Bot, exchange: Exchange, params: Params) -> Response:
    bot.outbox.append(exchange)
    bot.profile.pop(("commands", _scope(params)), None)
    return ok(True)


def get_my_commands(bot: Bot, exchange: Exchange, params: Params) -> Response:
    return ok(bot.profile.get(("commands", _scope(params)), []))


def profile_text(field: str, default: str):  # type: ignore[no-untyped-def]
    """setMyName/Description/ShortDescription and their getters: per language, an empty value resets it."""

    def set_(bot: Bot, exchange: Exchange, params: Params) -> Response:
        bot.outbox.append(exchange)
        value = params.text(field)
        key = (field, params.text("language_code"))
        if value:
            bot.profile[key] = value
        else:
            bot.profile.pop(key, None)
        return ok(True)

    def get(bot: Bot, exchange: Exchange, params: Params) -> Response:
        value = bot.profile.get((field, params.text("language_code")), bot.profile.get((field, ""), default))
        return ok({field: value})

    return set_, get


def set_chat_menu_button(bot: Bot, exchange: Exchange, params: Params) -> Response:
    bot.outbox.append(exchange)
    try:
        button = json.loads(params.text("menu_button") or '{"type":"default"}')
    except ValueError:
        return error(400, "Bad Request: can't parse menu button JSON object")
    bot.profile[("menu_button", params.text("chat_id"))] = button
    return ok(True)


def get_chat_menu_button(bot: Bot, exchange: Exchange, params: Params) -> Response:
    return ok(bot.profile.get(("menu_button", params.text("chat_id")), {"type": "default"}))


_NAME, _DESCRIPTION, _SHORT = profile_text("name", "Fake Bot"), profile_text("description", ""), profile_text("short_description", "")
NO_RIGHTS = {right: False for right in (
    "is_anonymous", "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
    "can_delete_stories", "can_send_welcome_messages")}  # fmt: skip

HANDLERS = {
    "getMe": get_me,
    "sendMessage": send_message,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "setMyName": _NAME[0],
    "getMyName": _NAME[1],
    "setMyDescription": _DESCRIPTION[0],
    "getMyDescription": _DESCRIPTION[1],
    "setMyShortDescription": _SHORT[0],
    "getMyShortDescription": _SHORT[1],
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
    "getMyDefaultAdministratorRights": constant(NO_RIGHTS),
    "getChatMemberCount": constant(2),
    "getChatAdministrators": constant([]),
    "getUserProfilePhotos": constant({"total_count": 0, "photos": []}),
    **{
        name: recorded(True)
        for name in (
            "setMyDefaultAdministratorRights", "sendChatAction", "answerCallbackQuery", "answerInlineQuery",
            "deleteMessage", "deleteMessages", "setMessageReaction", "pinChatMessage", "unpinChatMessage",
            "unpinAllChatMessages", "leaveChat", "banChatMember", "unbanChatMember", "restrictChatMember",
            "promoteChatMember", "approveChatJoinRequest", "declineChatJoinRequest", "setChatTitle",
            "setChatDescription", "answerPreCheckoutQuery", "answerShippingQuery",
        )
    },
}
