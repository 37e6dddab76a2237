"""What an ordinary bot calls in its handlers: send*, copy/forward, edit*, chats, files.

Each answers the way Telegram would for a reachable private chat (or a group, for a
negative id), with a result the frameworks' own models parse (python-telegram-bot's
``de_json``, aiogram's pydantic types), and records the request in the bot's outbox. The
content is not delivered or stored: a sent photo becomes a PhotoSize with a fresh file id,
an edit is answered with the edited message as if it existed. Ids (message ids, file ids,
poll ids, dice values) come from counters, never from a PRNG, so adding a reply to a bot
leaves the update ids of a run unchanged. Deviations: docs/fidelity.md.
"""

from __future__ import annotations

import json
from typing import Any

from .bot import Bot
from .envelope import Response, error, ok
from .log import Exchange
from .messages import MAX_TEXT, chat_of, me
from .params import Params

MAX_CAPTION = 1024  # characters, message_caption_length_max
DICE_FACES = {"🎲": 6, "🎯": 6, "🎳": 6, "🏀": 5, "⚽": 5, "🎰": 64}


def _json(params: Params, name: str) -> Any:
    """A JSON-valued parameter (reply_markup, media, options), or None when absent or not JSON."""
    text = params.text(name)
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _target(params: Params) -> dict[str, Any] | Response:
    text = params.text("chat_id")
    if not text:
        return error(400, "Bad Request: chat_id is empty")
    chat = chat_of(text)
    return chat if chat is not None else error(400, "Bad Request: chat not found")


def _message(bot: Bot, chat: dict[str, Any], params: Params, **content: Any) -> dict[str, Any]:
    bot.last_message_id += 1
    message: dict[str, Any] = {"message_id": bot.last_message_id, "from": me(bot), "chat": chat, "date": int(bot.unix())}
    caption = params.text("caption")
    if caption:
        content.setdefault("caption", caption)
    markup = _json(params, "reply_markup")
    if isinstance(markup, dict) and isinstance(markup.get("inline_keyboard"), list):
        content["reply_markup"] = markup  # only inline keyboards come back in the message
    return message | content


def _file(bot: Bot, kind: str, params: Params, field: str, **extra: Any) -> dict[str, Any]:
    """A fresh file (uploaded or sent by URL) or the one a file_id names: ids from a counter."""
    value = params.text(field)
    if value and not value.startswith(("attach://", "http://", "https://")):
        file_id = value  # resending a known file keeps its id
    else:
        bot.last_file_id += 1
        file_id = f"{kind}-{bot.id}-{bot.last_file_id}"
    size = params.files.get(field)
    info: dict[str, Any] = {"file_id": file_id, "file_unique_id": _unique(file_id)}
    if size is not None:
        info["file_size"] = size
    return info | extra


def _unique(file_id: str) -> str:
    """A stable short id per file id (Python's hash() is salted per process: not used)."""
    value = 0
    for ch in file_id.encode():
        value = (value * 131 + ch) % 2**48
    return f"U{value:012x}"


def send_media(kind: str, build: Any):  # type: ignore[no-untyped-def]
    """sendPhoto, sendDocument, …: the chat, then the file parameter ``kind``, then the caption."""

    def handler(bot: Bot, exchange: Exchange, params: Params) -> Response:
        chat = _target(params)
        if isinstance(chat, Response):
            return chat
        if not params.text(kind) and kind not in params.files:
            return error(400, f"Bad Request: there is no {kind} in the request")
        if len(params.text("caption")) > MAX_CAPTION:
            return error(400, "Bad Request: message caption is too long")
        bot.outbox.append(exchange)
        return ok(_message(bot, chat, params, **build(bot, params)))

    return handler


def _media_content(kind: str, **extra: Any):  # type: ignore[no-untyped-def]
    def build(bot: Bot, params: Params) -> dict[str, Any]:
        return {kind: _file(bot, kind, params, kind, **extra)}

    return build


def _photo(bot: Bot, params: Params) -> dict[str, Any]:
    base = _file(bot, "photo", params, "photo")
    return {"photo": [base | {"width": 90, "height": 90}, {**base, "file_unique_id": base["file_unique_id"] + "x",
                                                             "width": 800, "height": 800}]}  # fmt: skip


def _animation(bot: Bot, params: Params) -> dict[str, Any]:
    info = _file(bot, "animation", params, "animation", width=320, height=240, duration=1)
    return {"animation": info, "document": {k: info[k] for k in ("file_id", "file_unique_id")}}


def _content(name: str, check: Any, build: Any):  # type: ignore[no-untyped-def]
    """A send method whose content comes from parameters (location, contact, poll, dice)."""

    def handler(bot: Bot, exchange: Exchange, params: Params) -> Response:
        chat = _target(params)
        if isinstance(chat, Response):
            return chat
        problem = check(params)
        if problem is not None:
            return error(400, f"Bad Request: {problem}")
        bot.outbox.append(exchange)
        return ok(_message(bot, chat, params, **build(bot, params)))

    handler.__name__ = name
    return handler


def _float(params: Params, name: str) -> float:
    try:
        return float(params.text(name) or "nan")
    except ValueError:
        return float("nan")


def _location_problem(params: Params) -> str | None:
    lat, lon = _float(params, "latitude"), _float(params, "longitude")
    return None if -90 <= lat <= 90 and -180 <= lon <= 180 else "wrong latitude or longitude"


def _location(bot: Bot, params: Params) -> dict[str, Any]:
    return {"location": {"latitude": _float(params, "latitude"), "longitude": _float(params, "longitude")}}


def _venue(bot: Bot, params: Params) -> dict[str, Any]:
    where = _location(bot, params)["location"]
    return {"location": where, "venue": {"location": where, "title": params.text("title"), "address": params.text("address")}}


def _contact_problem(params: Params) -> str | None:
    if not params.text("phone_number"):
        return "phone number must be non-empty"
    return None if params.text("first_name") else "first name must be non-empty"


def _contact(bot: Bot, params: Params) -> dict[str, Any]:
    return {"contact": {"phone_number": params.text("phone_number"), "first_name": params.text("first_name")}}


def _poll_options(params: Params) -> list[str] | None:
    options = _json(params, "options")
    if not isinstance(options, list):
        return None
    texts = [o.get("text") if isinstance(o, dict) else o for o in options]
    return [str(t) for t in texts if isinstance(t, str | int | float)]


def _poll_problem(params: Params) -> str | None:
    if not params.text("question"):
        return "poll question must be non-empty"
    options = _poll_options(params)
    if options is None or not 2 <= len(options) <= 12:
        return "poll must have at least 2 option"
    return None


def _poll(bot: Bot, params: Params) -> dict[str, Any]:
    bot.last_poll_id += 1
    quiz = params.text("type") == "quiz"
    return {"poll": {
        "id": str(bot.id * 1000 + bot.last_poll_id), "question": params.text("question"),
        "options": [{"persistent_id": str(i), "text": t, "voter_count": 0} for i, t in enumerate(_poll_options(params) or [])],
        "total_voter_count": 0, "is_closed": params.boolean("is_closed"),
        "is_anonymous": params.text("is_anonymous", "true").lower() not in ("false", "0", "no"),
        "type": "quiz" if quiz else "regular", "allows_multiple_answers": params.boolean("allows_multiple_answers"),
        "allows_revoting": params.boolean("allows_revoting"), "members_only": params.boolean("members_only"),
        **({"correct_option_id": params.integer("correct_option_id", 0)} if quiz else {}),
    }}  # fmt: skip


def _dice_problem(params: Params) -> str | None:
    return None if params.text("emoji", "🎲") in DICE_FACES else "invalid dice emoji specified"


def _dice(bot: Bot, params: Params) -> dict[str, Any]:
    emoji = params.text("emoji", "🎲")
    return {"dice": {"emoji": emoji, "value": bot.last_message_id % DICE_FACES[emoji] + 1}}  # the next message's id


def send_media_group(bot: Bot, exchange: Exchange, params: Params) -> Response:
    chat = _target(params)
    if isinstance(chat, Response):
        return chat
    media = _json(params, "media")
    if not isinstance(media, list) or not all(isinstance(m, dict) for m in media):
        return error(400, "Bad Request: can't parse media JSON object")
    if not 2 <= len(media) <= 10:
        return error(400, "Bad Request: there must be at least 2 and at most 10 media in a media group")
    bot.outbox.append(exchange)
    bot.last_file_id += 1
    group = str(bot.id * 10**6 + bot.last_file_id)
    messages = []
    for item in media:
        kind = str(item.get("type", "photo"))
        if kind not in ("photo", "video", "audio", "document"):
            return error(400, f"Bad Request: unsupported media type {kind!r} in a media group")
        part = Params({kind: str(item.get("media", "")), **({"caption": str(item["caption"])} if item.get("caption") else {})})
        content = _photo(bot, part) if kind == "photo" else _media_content(kind, **_EXTRA.get(kind, {}))(bot, part)
        messages.append(_message(bot, chat, part, media_group_id=group, **content))
    return ok(messages)


def copy_message(bot: Bot, exchange: Exchange, params: Params) -> Response:
    chat = _target(params)
    if isinstance(chat, Response):
        return chat
    if chat_of(params.text("from_chat_id")) is None:
        return error(400, "Bad Request: chat not found")
    if params.integer("message_id", 0) <= 0:
        return error(400, "Bad Request: message to copy not found")
    bot.outbox.append(exchange)
    bot.last_message_id += 1
    return ok({"message_id": bot.last_message_id})


def forward_message(bot: Bot, exchange: Exchange, params: Params) -> Response:
    chat = _target(params)
    if isinstance(chat, Response):
        return chat
    source = chat_of(params.text("from_chat_id"))
    if source is None:
        return error(400, "Bad Request: chat not found")
    if params.integer("message_id", 0) <= 0:
        return error(400, "Bad Request: message to forward not found")
    bot.outbox.append(exchange)
    date = int(bot.unix())
    origin: dict[str, Any] = (
        {"type": "user", "date": date, "sender_user": {"id": source["id"], "is_bot": False, "first_name": "User"}}
        if source["type"] == "private" else {"type": "chat", "date": date, "sender_chat": source}
    )  # fmt: skip
    return ok(_message(bot, chat, params, forward_origin=origin))


def edit(field: str | None):  # type: ignore[no-untyped-def]
    """editMessageText/Caption/ReplyMarkup: True for an inline message, else the message as edited."""

    def handler(bot: Bot, exchange: Exchange, params: Params) -> Response:
        if field == "text":
            text = params.text("text")
            if not text.strip():
                return error(400, "Bad Request: message text is empty")
            if len(text) > MAX_TEXT:
                return error(400, "Bad Request: message is too long")
        if params.text("inline_message_id"):
            bot.outbox.append(exchange)
            return ok(True)
        chat = _target(params)
        if isinstance(chat, Response):
            return chat
        message_id = params.integer("message_id", 0)
        if message_id <= 0:
            return error(400, "Bad Request: message to edit not found")
        bot.outbox.append(exchange)
        content = {"text": params.text("text")} if field == "text" else {}
        message = _message(bot, chat, params, edit_date=int(bot.unix()), **content)
        bot.last_message_id -= 1  # an edit makes no new message
        return ok(message | {"message_id": message_id})

    return handler


def get_chat(bot: Bot, exchange: Exchange, params: Params) -> Response:
    chat = _target(params)
    if isinstance(chat, Response):
        return chat
    gifts = {k: False for k in ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription", "gifts_from_channels")}
    return ok(chat | {"accent_color_id": 0, "max_reaction_count": 11, "accepted_gift_types": gifts})


def get_chat_member(bot: Bot, exchange: Exchange, params: Params) -> Response:
    chat = _target(params)
    if isinstance(chat, Response):
        return chat
    user_id = params.integer("user_id", 0)
    if user_id <= 0:
        return error(400, "Bad Request: invalid user_id specified")
    user = me(bot) if user_id == bot.id else {"id": user_id, "is_bot": False, "first_name": "User"}
    return ok({"status": "member", "user": user})


def get_file(bot: Bot, exchange: Exchange, params: Params) -> Response:
    file_id = params.text("file_id")
    if not file_id:
        return error(400, "Bad Request: file_id is empty")
    return ok({"file_id": file_id, "file_unique_id": _unique(file_id), "file_size": 1024,
               "file_path": f"documents/{_unique(file_id)}"})  # fmt: skip


_EXTRA: dict[str, dict[str, Any]] = {
    "video": {"width": 640, "height": 360, "duration": 1},
    "audio": {"duration": 1},
    "voice": {"duration": 1},
    "video_note": {"length": 240, "duration": 1},
    "sticker": {"type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False},
    "document": {},
}

HANDLERS = {
    "sendPhoto": send_media("photo", _photo),
    "sendAnimation": send_media("animation", _animation),
    **{f"send{''.join(p.title() for p in kind.split('_'))}": send_media(kind, _media_content(kind, **extra))
       for kind, extra in _EXTRA.items()},  # fmt: skip
    "sendLocation": _content("sendLocation", _location_problem, _location),
    "sendVenue": _content("sendVenue", _location_problem, _venue),
    "sendContact": _content("sendContact", _contact_problem, _contact),
    "sendPoll": _content("sendPoll", _poll_problem, _poll),
    "sendDice": _content("sendDice", _dice_problem, _dice),
    "sendMediaGroup": send_media_group,
    "copyMessage": copy_message,
    "forwardMessage": forward_message,
    "editMessageText": edit("text"),
    "editMessageCaption": edit("caption"),
    "editMessageReplyMarkup": edit(None),
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "getFile": get_file,
}
