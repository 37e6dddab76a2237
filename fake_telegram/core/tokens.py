"""Which tokens name a bot. The fake answers like the hosted server (docs/telegram-rules.md §10).

A malformed token gets 404 ``Not Found``; a well-formed one whose secret Telegram
would reject (not base64url, shorter than 24 characters) gets 401 ``Unauthorized``.
"""

from __future__ import annotations

import re

_ID = re.compile(r"[1-9][0-9]*")
_SECRET = re.compile(r"[A-Za-z0-9_-]{24,}")
MAX_BOT_ID = 2**54


def bot_id(token: str) -> int | None:
    """The bot id if ``token`` is structurally valid (ClientManager.cpp:73-85), else None."""
    if not token or len(token) > 80 or "/" in token:
        return None
    head, sep, _ = token.partition(":")
    if not sep or not _ID.fullmatch(head):
        return None
    value = int(head)
    return value if 0 < value < MAX_BOT_ID else None


def secret_accepted(token: str) -> bool:
    """Whether Telegram would log this token in (Client.cpp:16271-16299)."""
    return _SECRET.fullmatch(token.partition(":")[2]) is not None
