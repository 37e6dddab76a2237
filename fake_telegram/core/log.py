"""The request log: the evidence every checker reads.

One ``Exchange`` per request, created on arrival and completed when the server
answers. It records who asked (the caller context variable the harness sets per
simulated instance), what was asked, what came back, and which request kicked
which, so a trace can be judged from the server's point of view alone.
"""

from __future__ import annotations

import asyncio
import contextvars
from contextvars import ContextVar
from typing import Any

from .envelope import Response

caller: ContextVar[str] = ContextVar("fake_telegram_caller", default="unknown")


class Exchange:
    """One request and, once answered, its response."""

    __slots__ = (
        "id", "at", "caller", "token", "method", "params", "response", "answered_at",
        "long_poll", "kicked_by", "kicked", "abandoned_at", "update_ids", "_waiters",
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
        }


class RequestLog:
    """All exchanges in arrival order; cheap to append, filtered on demand."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: list[Exchange] = []

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.entries)

    def __getitem__(self, index: int) -> Exchange:
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


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
