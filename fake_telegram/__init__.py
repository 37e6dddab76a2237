"""A fake Telegram Bot API server with Telegram's real rules.

The core (``FakeTelegram``) is a transport-free state machine: one long-poll slot
per bot, 409 Conflicts with the 3 s throttle, offsets, webhooks, ghost polls, and
webhook delivery through an injected ``deliver`` seam (``Post`` in, ``Answer`` or
``Failure`` out).
Transports carry HTTP to it: ``mocked``/``mount`` (respx, any httpx client in
process), ``FakeTransport`` (an httpx transport), ``asgi_app`` (real HTTP through
uvicorn) and ``fake_telegram.transports.aiogram.FakeSession``.
"""

from .core import (
    DEFAULT_EPOCH,
    Answer,
    Bot,
    Deliver,
    Exchange,
    Failure,
    FakeTelegram,
    Fault,
    Post,
    RequestLog,
    Response,
    Rules,
    WebhookEvent,
    caller,
    handling,
)
from .transports.asgi import asgi_app
from .transports.httpx import API_URL, FakeTransport, mocked, mount
from .updates_builder import message_update

__all__ = [
    "API_URL",
    "DEFAULT_EPOCH",
    "Answer",
    "Bot",
    "Deliver",
    "Exchange",
    "Failure",
    "Fault",
    "FakeTelegram",
    "FakeTransport",
    "Post",
    "RequestLog",
    "Response",
    "Rules",
    "WebhookEvent",
    "asgi_app",
    "caller",
    "handling",
    "message_update",
    "mocked",
    "mount",
]
