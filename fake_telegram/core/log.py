"""The request log: the evidence every checker reads.

One ``Exchange`` per request, created on arrival and completed when the server
answers. It records who asked (the caller context variable the harness sets per
simulated instance), what was asked, what came back, and which request kicked
which, so a trace can be judged from the server's point of view alone.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from itertools import islice
from typing import Any

from .envelope import Response

MAX_LOGGED_VALUE = 4096  # characters: Telegram's longest message text is logged whole
MAX_LOGGED_KEY = 256
MAX_LOGGED_CHARS = 16384  # all keys and values of one request together

caller: ContextVar[str] = ContextVar("fake_telegram_caller", default="unknown")
# The update the caller is processing while it sends a request, set by whoever knows (a harness that
# instruments the bot's framework): it ties a reply to the update it answers.
handling: ContextVar[int | None] = ContextVar("fake_telegram_handling", default=None)


class Exchange:
    """One request and, once answered, its response."""

    __slots__ = (
        "id", "at", "caller", "token", "method", "params", "response", "answered_at",
        "long_poll", "kicked_by", "kicked", "abandoned_at", "update_ids", "handling", "_waiters",
    )  # fmt: skip

    def __init__(self, id: int, at: float, who: str, token: str | None, method: str, params: dict[str, str]):
        self.id = id
        self.at = at
        self.caller = who
        self.token = token
        self.method = method
        self.params = params
        self.response: Response | None = None
        self.answered_at: float | None = None
        self.long_poll = False  # held the bot's long-poll slot at some point
        self.kicked_by: int | None = None  # the request that terminated this poll
        self.kicked: int | None = None  # the poll this request terminated
        self.abandoned_at: float | None = None  # the client gave up waiting
        self.update_ids: tuple[int, ...] = ()
        self.handling: int | None = None  # the update the caller was processing when it sent this
        # clients waiting in reply(), each with its own context: the wake-up runs as the client,
        # so a simulator can drop it for a killed client and hold it for a paused one
        self._waiters: list[tuple[asyncio.Future[None], contextvars.Context]] = []

    @property
    def status(self) -> int | None:
        return None if self.response is None else self.response.status

    @property
    def description(self) -> str | None:
        return None if self.response is None else self.response.description

    def answer(self, response: Response, now: float) -> None:
        if self.response is not None:
            return
        self.response = response
        self.answered_at = now
        for waiter, context in self._waiters:
            waiter.get_loop().call_soon(_wake, waiter, context=context)

    async def reply(self, timeout: float | None = None, now: Any = None) -> Response:
        """Wait for the answer as a client would; giving up leaves the server side running.

        ``now`` is the clock used to stamp ``abandoned_at`` when the wait times out or
        is cancelled: the request stays pending server-side, a ghost.
        """
        if self.response is not None:
            return self.response
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        entry = (waiter, contextvars.copy_context())
        self._waiters.append(entry)
        timer = None if timeout is None else loop.call_later(timeout, _wake, waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            self._abandon(now or loop.time)
            raise
        finally:
            self._waiters.remove(entry)
            if timer is not None:
                timer.cancel()
        if self.response is None:
            self._abandon(now or loop.time)
            raise TimeoutError(f"no answer to {self.method} within {timeout} s")
        return self.response

    def _abandon(self, now: Any) -> None:
        if self.response is None and self.abandoned_at is None:
            self.abandoned_at = now()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "caller": self.caller,
            "token": self.token,
            "method": self.method,
            "params": self.params,
            "status": self.status,
            "description": self.description,
            "answered_at": self.answered_at,
            "long_poll": self.long_poll,
            "kicked_by": self.kicked_by,
            "kicked": self.kicked,
            "abandoned_at": self.abandoned_at,
            "update_ids": list(self.update_ids),
            "handling": self.handling,
        }


def logged(values: Mapping[str, str], *, value_cap: int = MAX_LOGGED_VALUE, total: int = MAX_LOGGED_CHARS) -> dict[str, str]:
    """What the log keeps of a request's parameters: bounded, and saying where it cut.

    A value longer than ``value_cap`` characters (or than what is left of ``total``) is cut and
    ends in ``…[truncated: N characters]``; parameters past the budget become one ``…`` entry
    that counts them. Ordinary requests (offsets, timeouts, message texts) are kept whole.
    """
    out: dict[str, str] = {}
    left = total
    for i, (key, value) in enumerate(values.items()):
        if left <= 0:
            out["…"] = f"[{len(values) - i} more parameters not logged]"
            break
        if len(key) > MAX_LOGGED_KEY:
            key = f"{key[:MAX_LOGGED_KEY]}…[truncated: {len(key)} characters]"
        cap = max(0, min(value_cap, left - len(key)))
        if len(value) > cap:
            value = f"{value[:cap]}…[truncated: {len(value)} characters]"
        out[key] = value
        left -= len(key) + len(value)
    return out


class WebhookEvent:
    """One step of a webhook delivery: the server's side of a POST it made, not a request it got.

    ``event`` is ``deliver`` (a POST went out), ``ack`` (a 2xx: delivered and forgotten),
    ``fail`` (``error`` says why; ``retry_in`` is the wait before the next attempt), ``drop``
    (it would expire before the next attempt: lost), ``abort`` (the webhook changed, was
    deleted or closed while the POST was in flight: any late answer is ignored) or ``close``
    (the server removed the webhook itself: 410 for 23 h). ``instance`` is who answered, as the
    deliver seam reports it.
    """

    __slots__ = ("seq", "at", "token", "event", "url", "update_id", "attempt", "connection", "instance",
                 "status", "error", "retry_in")  # fmt: skip

    def __init__(
        self, seq: int, at: float, token: str, event: str, url: str, update_id: int | None = None,
        attempt: int | None = None, connection: int | None = None, instance: str | None = None,
        status: int | None = None, error: str | None = None, retry_in: float | None = None,
    ):  # fmt: skip
        self.seq = seq
        self.at = at
        self.token = token
        self.event = event
        self.url = url
        self.update_id = update_id
        self.attempt = attempt
        self.connection = connection
        self.instance = instance
        self.status = status
        self.error = error
        self.retry_in = retry_in

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class RequestLog:
    """Exchanges in arrival order; ids count every request ever logged.

    ``max_entries`` None keeps every entry (a simulation: the checkers judge the whole run);
    a number keeps only the newest ones (a long-running server) and counts the rest in ``dropped``.
    Webhook deliveries the server makes are kept apart, in ``webhook`` (bounded the same way),
    so that every entry stays a request the server received.
    """

    __slots__ = ("entries", "dropped", "max_entries", "webhook", "webhook_seq")

    def __init__(self, max_entries: int | None = None) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError(f"max_entries: expected a positive number or None, got {max_entries!r}")
        self.max_entries = max_entries
        self.entries: list[Exchange] | deque[Exchange] = [] if max_entries is None else deque(maxlen=max_entries)
        self.dropped = 0
        self.webhook: list[WebhookEvent] | deque[WebhookEvent] = [] if max_entries is None else deque(maxlen=max_entries)
        self.webhook_seq = 0

    def webhook_event(self, at: float, token: str, event: str, url: str, **fields: Any) -> WebhookEvent:
        record = WebhookEvent(self.webhook_seq, at, token, event, url, **fields)
        self.webhook_seq += 1
        self.webhook.append(record)
        return record

    @property
    def webhook_dropped(self) -> int:
        """Webhook events no longer kept (a bounded log keeps the newest)."""
        return self.webhook_seq - len(self.webhook)

    def webhook_page(self, offset: int, limit: int, token: str | None = None) -> tuple[list[WebhookEvent], int | None]:
        """Up to ``limit`` webhook events with seq >= ``offset`` (of one token); and the offset of the next page."""
        out: list[WebhookEvent] = []
        start = min(max(0, offset - self.webhook_dropped), len(self.webhook))
        for event in islice(self.webhook, start, None):
            if token is not None and event.token != token:
                continue
            if len(out) == limit:
                return out, event.seq
            out.append(event)
        return out, None

    @property
    def next_id(self) -> int:
        return self.dropped + len(self.entries)

    def append(self, exchange: Exchange) -> None:
        if self.max_entries is not None and len(self.entries) == self.max_entries:
            self.dropped += 1
        self.entries.append(exchange)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(self.entries)

    def __getitem__(self, index: int) -> Exchange:
        """By id (the position among every request logged); negative indices count from the newest."""
        if index >= 0:
            index -= self.dropped
            if index < 0:
                raise IndexError(f"request {index + self.dropped} was dropped from the log")
        return self.entries[index]

    def select(self, *, token: str | None = None, method: str | None = None, caller: str | None = None) -> list[Exchange]:
        return [
            e
            for e in self.entries
            if (token is None or e.token == token)
            and (method is None or e.method == method)
            and (caller is None or e.caller == caller)
        ]

    def to_json(self, token: str | None = None) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.entries if token is None or e.token == token]

    def page(self, offset: int, limit: int, token: str | None = None) -> tuple[list[Exchange], int | None]:
        """Up to ``limit`` entries with id >= ``offset`` (of one token); and the offset of the next page."""
        out: list[Exchange] = []
        start = min(max(0, offset - self.dropped), len(self.entries))  # any offset: past the end is an empty page
        for e in islice(self.entries, start, None):
            if token is not None and e.token != token:
                continue
            if len(out) == limit:
                return out, e.id
            out.append(e)
        return out, None


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
