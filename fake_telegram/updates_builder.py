"""Ready-made Update objects to push, complete enough for PTB and aiogram to parse."""

from __future__ import annotations

from typing import Any


def message_update(text: str, *, chat_id: int = 1000, date: int, message_id: int = 1) -> dict[str, Any]:
    """A private-chat text message from user ``chat_id``; ``date`` is Unix time."""
    user = {"id": chat_id, "is_bot": False, "first_name": "User"}
    return {
        "message": {
            "message_id": message_id,
            "from": user,
            "chat": {"id": chat_id, "first_name": "User", "type": "private"},
            "date": date,
            "text": text,
        }
    }
