"""Webhook POSTs over real HTTP: the deliver seam of ``fake-telegram serve``.

The core's delivery engine decides what to send and when (docs/telegram-rules.md §12); this
adapter only carries each ``Post`` to its URL with httpx and turns what came back into an
``Answer`` (any status, its reason phrase as sent) or a ``Failure`` (the system error text
Telegram stores, or ``None`` for a connection closed without an answer). It has no timeout of
its own: the engine's 60 s timer cancels a POST that gets no whole answer.

It contacts nothing but plain http on a loopback host: setWebhook already refuses any other URL
(``FakeTelegram(loopback_only=True)``); this check is the second lock on the same door.
"""

from __future__ import annotations

import errno
import logging
import os

import httpx

from ..core.control import masked_url
from ..core.delivery import Answer, Failure, Outcome, Post
from ..core.webhooks import is_loopback_http

log = logging.getLogger("fake_telegram")

KEEP_IDLE = 60.0  # an idle keep-alive connection is closed after 60 s (WebhookActor.cpp:231)
NOT_CONTACTED = "not contacted: fake-telegram serve posts only plain http to a loopback host"


class HttpDeliver:
    """One httpx client per server, made on first use inside the server's running loop."""

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None

    def _session(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: no proxy from the environment may carry a POST off the machine
            limits = httpx.Limits(
                max_connections=None, max_keepalive_connections=100, keepalive_expiry=KEEP_IDLE
            )
            self._client = httpx.AsyncClient(
                timeout=None, limits=limits, trust_env=False, follow_redirects=False
            )
        return self._client

    async def __call__(self, post: Post) -> Outcome:
        outcome = await self._post(post)
        said = f"{outcome.status} {outcome.reason}".rstrip() if isinstance(outcome, Answer) else outcome.error
        log.info("webhook POST %s update %d (attempt %d) -> %s", masked_url(post.url, post.token), post.update_id,
                 post.attempt, said or "closed without an answer")  # fmt: skip
        return outcome

    async def _post(self, post: Post) -> Answer | Failure:
        if not is_loopback_http(post.url):
            return Failure(NOT_CONTACTED)
        # Sent as built: the engine's headers in its order, none of httpx's defaults (no User-Agent, no Accept).
        request = httpx.Request("POST", post.url, headers=list(post.headers), content=post.body)
        try:
            response = await self._session().send(request)
        except httpx.RemoteProtocolError as exc:
            if "without sending a response" in str(exc):  # a clean close: last_error_message stays as it was
                return Failure(None)
            return Failure(_system_error(exc) or f"Invalid HTTP response: {exc}")
        except httpx.TransportError as exc:
            return Failure(_system_error(exc) or str(exc) or type(exc).__name__)
        close = (
            response.headers.get("connection", "").lower() == "close" or response.http_version == "HTTP/1.0"
        )
        headers = {k.lower(): v for k, v in response.headers.items()}
        return Answer(response.status_code, response.reason_phrase, headers, response.content, close)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _system_error(exc: BaseException) -> str | None:
    """The strerror text of the OS error behind an httpx error (``Connection refused``), as td stores it."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in errno.errorcode:
            return os.strerror(current.errno)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        todo += list(getattr(current, "exceptions", ()))  # an ExceptionGroup of connection attempts
    return None
