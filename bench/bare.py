"""The floor the harness is measured against: the reference workload with nothing around it.

The same bots (python-telegram-bot 22 Applications doing what ``simbot.startup.Naive``
does, with PTB's own polling, backoff and shutdown) on a bare virtual-time loop, an
in-memory httpx transport handed straight to PTB, and a minimal fake that keeps only
the rules this workload exercises: one long-poll slot, a 409 for the kicked poll held
3 s by the conflict throttle, offsets that confirm, a poll woken 1 ms after an update,
the anti-spin 3 s timeout. No trace, no checkers, no gating, no wall-clock patching.

The timeline is the reference scenario's (``simbot.demo``): v1 at 0 s, v2 at the
30 s deploy, v1 stopped at 90.5 s (Render: ready after 0.5 s, then a 60 s hold), an
update every 10 s from 5 s, 180 s. ``loop_factory`` swaps the loop, so the same
workload also runs on looptime's; ``fake="simbot"`` swaps the minimal fake for simbot's
own, which splits the harness's cost into the fake's fidelity and everything else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import selectors
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, TypeHandler
from telegram.request import HTTPXRequest

from fake_telegram import FakeTelegram, message_update
from fake_telegram.transports.httpx import FakeTransport

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
EPOCH = 1_767_225_600
ME = {"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
HOLD = 3.0  # the conflict throttle: a second 409 within 3 s waits out the rest
HORIZON = 180.0


class BareLoop(asyncio.SelectorEventLoop):
    """A float clock that jumps to the next timer when nothing is ready; nothing else."""

    def __init__(self) -> None:
        super().__init__(selectors.SelectSelector())
        self._now = 0.0
        real_select = self._selector.select
        registered = self._selector._fd_to_key  # type: ignore[attr-defined]

        def select(timeout: float | None = None) -> list[Any]:
            events = real_select(0) if len(registered) > 1 else []  # as simbot's: no syscall for the self-pipe alone
            if events or timeout == 0:
                return events
            if timeout is None:
                raise RuntimeError("bare loop: nothing left to run and no timer: a deadlock")
            self._now = max(self._now, self._scheduled[0].when())
            return events

        self._selector.select = select  # type: ignore[method-assign]

    def time(self) -> float:
        return self._now


@dataclass
class _Poll:
    future: asyncio.Future[dict[str, Any]]
    offset: int
    deadline: asyncio.TimerHandle | None = None


@dataclass
class MinimalFake:
    """getMe, deleteWebhook and getUpdates, with the rules the reference fight touches."""

    loop: asyncio.AbstractEventLoop
    queue: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    next_id: int = 1000
    poll: _Poll | None = None
    next_conflict_at: float = float("-inf")
    prev_offset: int | None = None
    prev_at: float = float("-inf")
    requests: int = 0  # before the horizon, like the trace
    conflicts: int = 0
    horizon: float = HORIZON

    def transport(self) -> httpx.AsyncBaseTransport:
        return MemoryTransport(self)

    def push(self, update: dict[str, Any]) -> None:
        self.queue.append((self.next_id, {"update_id": self.next_id, **update}))
        self.next_id += 1
        if self.poll is not None and self.poll.deadline is not None:
            self.poll.deadline.cancel()
            self.poll.deadline = self.loop.call_later(0.001, self._answer_poll)

    async def call(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests += self.loop.time() < self.horizon
        if method == "getMe":
            return 200, {"ok": True, "result": ME}
        if method == "deleteWebhook":
            return 200, {"ok": True, "result": True}
        if method != "getUpdates":
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        offset, timeout = int(params.get("offset", 0)), int(params.get("timeout", 0))
        now = self.loop.time()
        if offset == self.prev_offset and timeout < 3 and now - self.prev_at < 3:
            timeout = 3
        self.prev_offset, self.prev_at = offset, now
        self._confirm(offset)
        ready = self._read(offset)
        if ready or timeout == 0:
            return 200, {"ok": True, "result": ready}
        self._kick()
        poll = self.poll = _Poll(self.loop.create_future(), offset)
        poll.deadline = self.loop.call_later(timeout, self._answer_poll)
        return await poll.future

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self.queue = [(uid, u) for uid, u in self.queue if uid >= offset]

    def _read(self, offset: int) -> list[dict[str, Any]]:
        return [u for uid, u in self.queue if uid >= offset][:100]

    def _answer_poll(self) -> None:
        poll, self.poll = self.poll, None
        if poll is not None and not poll.future.done():
            poll.future.set_result((200, {"ok": True, "result": self._read(poll.offset)}))

    def _kick(self) -> None:
        poll, self.poll = self.poll, None
        if poll is None:
            return
        if poll.deadline is not None:
            poll.deadline.cancel()
        self.conflicts += 1
        answer = (409, {"ok": False, "error_code": 409, "description": CONFLICT})
        now = self.loop.time()
        if now >= self.next_conflict_at:
            self.next_conflict_at = now + HOLD
            poll.future.set_result(answer)
        else:
            self.loop.call_later(HOLD, lambda: poll.future.done() or poll.future.set_result(answer))


class SimbotFake:
    """simbot's own fake (every rule, the request log) behind its httpx transport, same interface:
    what the fake's fidelity costs on its own, without the rest of the harness."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.fake = FakeTelegram(clock=loop.time, seed=1, epoch=EPOCH)

    def push(self, update: dict[str, Any]) -> None:
        self.fake.push(TOKEN, update)

    def transport(self) -> httpx.AsyncBaseTransport:
        return FakeTransport(self.fake)

    @property
    def requests(self) -> int:
        return sum(e.at < HORIZON for e in self.fake.log)

    @property
    def conflicts(self) -> int:
        return sum(e.at < HORIZON and e.status == 409 for e in self.fake.log)


class MemoryTransport(httpx.AsyncBaseTransport):
    """httpx's seam, straight to the fake: no routing, no call recording, no timers."""

    def __init__(self, fake: MinimalFake):
        self.fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        params = dict(parse_qsl((await request.aread()).decode()))
        # No read timeout: every long poll here ends by its own deadline, well inside PTB's.
        status, body = await self.fake.call(method, params)
        return httpx.Response(status, content=json.dumps(body).encode(), request=request)


def _application(fake: MinimalFake | SimbotFake, handled: list[int]) -> Application:  # type: ignore[type-arg]
    def request() -> HTTPXRequest:
        return HTTPXRequest(httpx_kwargs={"transport": fake.transport()})

    app = ApplicationBuilder().token(TOKEN).request(request()).get_updates_request(request()).build()

    async def note(update: Update, context: object) -> None:
        handled.append(update.update_id)

    app.add_handler(TypeHandler(Update, note), group=-1000)
    return app


async def _bot(app: Application, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
    """``Naive``'s steps: initialize, start_polling(timeout=10), start; on stop, PTB's shutdown order."""

    def error_callback(exc: Exception) -> None:
        app.create_task(app.process_error(error=exc, update=None))

    await app.initialize()
    try:
        await app.updater.start_polling(timeout=10, error_callback=error_callback)  # type: ignore[union-attr]
        await app.start()
        await stop.wait()
    finally:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()


@dataclass(frozen=True)
class Outcome:
    requests: int
    conflicts: int
    handled: tuple[int, ...]
    virtual_seconds: float


def run(loop_factory: Callable[[], asyncio.AbstractEventLoop] = BareLoop, *, fake: str = "minimal") -> Outcome:
    """One reference run; ends at the horizon and unwinds the bots like ``asyncio.run``.

    ``fake="simbot"`` swaps the minimal fake for simbot's own (and its transport).
    """
    loop = loop_factory()
    asyncio.set_event_loop(loop)
    quiet = logging.NullHandler()  # the harness keeps WARNINGs as one-line events; here nobody formats them
    logging.getLogger().addHandler(quiet)
    server = MinimalFake(loop) if fake == "minimal" else SimbotFake(loop)
    handled: list[int] = []
    stops = [asyncio.Event(), asyncio.Event()]
    tasks: list[asyncio.Task[None]] = []

    def start(i: int) -> None:
        tasks.append(loop.create_task(_bot(_application(server, handled), stops[i])))

    loop.call_at(0.0, start, 0)
    loop.call_at(30.0, start, 1)
    loop.call_at(90.5, stops[0].set)
    t = 5.0
    while t < HORIZON:
        loop.call_at(t, lambda: server.push(message_update("hello", date=int(EPOCH + loop.time()))))
        t += 10.0
    loop.call_at(HORIZON, loop.stop)
    try:
        loop.run_forever()
        ended = loop.time()
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    finally:
        logging.getLogger().removeHandler(quiet)
        asyncio.set_event_loop(None)
        loop.close()
    return Outcome(server.requests, server.conflicts, tuple(handled), ended)
