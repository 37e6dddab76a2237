"""Webhook delivery: how the server pushes a bot's queued updates to its webhook (docs/telegram-rules.md §12).

One ``Delivery`` per bot while a webhook is set and a deliver seam is given. Like the
rest of the core it opens no socket: each POST is handed to the injected ``deliver``
coroutine (the simulator's or the HTTP server's), every wait is a timer on the running
loop (virtual in a simulation) and every random delay comes from a seeded PRNG.
Connections are bookkeeping only: which POSTs may be in flight at once.
"""

from __future__ import annotations

import asyncio
import base64
import heapq
import os
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .log import RequestLog
from .updates import Queued

if TYPE_CHECKING:
    from .bot import Bot, Webhook

POST_TIMEOUT = 60.0  # idle_timeout of the outbound connection (WebhookActor.cpp:231)
ACTIVE_WINDOW = 10.0  # a 2xx this recent allows more than one connection (WebhookActor.cpp:691-703)
IDLE_CLOSE = 60.0  # an idle keep-alive connection is closed after this
MAX_RETRY_AFTER = 3600  # Retry-After is clamped to 0..3600 (WebhookActor.cpp:502-510)
MAX_RESEND = 60  # WEBHOOK_MAX_RESEND_TIMEOUT: the backoff cap is drawn from [60, 120]
DROP_410_AFTER = 23 * 3600.0  # WEBHOOK_DROP_TIMEOUT (WebhookActor.h:76)
LOAD_BATCH = 1000  # TQUEUE_EVENT_BUFFER_SIZE
UNIQUE_QUEUES = 1 << 60  # queue key 0 becomes a fresh key from here (see fidelity.md)
READ_TIMEOUT = "Read timeout expired"  # HttpConnectionBase.cpp:90
CONNECTION_CLOSED = "Webhook connection closed"  # never stored as last_error_message
NO_REPLY_METHODS = ("deletewebhook", "setwebhook", "close", "logout")  # plus every get* (WebhookActor.cpp:619-633)


@dataclass(frozen=True, slots=True)
class Post:
    """One POST the server makes: exactly one update (webhooks §1.1)."""

    token: str
    url: str
    target: str  # path and query, as in the request line
    headers: tuple[tuple[str, str], ...]  # in the order the server writes them
    body: bytes
    update_id: int
    attempt: int  # 1 for the first POST of this update to this webhook
    connection: int  # which of the server's connections carries it (keep-alive reuse)


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back over HTTP. ``close``: the response ends the connection (``Connection: close``, HTTP/1.0)."""

    status: int
    reason: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    close: bool = False
    instance: str | None = None  # who answered, for the log


@dataclass(frozen=True, slots=True)
class Failure:
    """No HTTP answer. ``error`` is the text Telegram stores (``Connection refused``); None: a clean close."""

    error: str | None
    instance: str | None = None


Outcome = Answer | Failure | int
Deliver = Callable[[Post], Awaitable[Outcome]]


@dataclass(slots=True)
class Seam:
    """What the server shares with every bot's delivery: the seam, the log, the PRNG seed."""

    log: RequestLog
    seed: str
    deliver: Deliver | None = None
    execute: Callable[[str, Answer], None] | None = None  # runs a method sent back in a 2xx answer
    loopback_http: bool = False  # local mode for loopback: plain http on any port (§1.7)
    loopback_only: bool = False  # serve: only plain http to loopback; every other URL refused at setWebhook


class Bucket:
    """td's FloodControlFast with one limit: ``count`` events per ``duration``, as a leaky bucket."""

    __slots__ = ("count", "duration", "level", "at")

    def __init__(self, duration: float, count: int):
        self.duration, self.count = duration, count
        self.level = 0.0
        self.at = float("-inf")

    def wakeup_at(self) -> float:
        """When the next event is allowed."""
        if self.level <= self.count - 1:
            return float("-inf")
        return self.at + (self.level - (self.count - 1)) * self.duration / self.count

    def add(self, now: float) -> None:
        drained = (now - self.at) * self.count / self.duration
        self.level = max(0.0, self.level - drained) + 1
        self.at = now


@dataclass(slots=True)
class Loaded:
    entry: Queued
    key: int
    wakeup_at: float
    delay: int = 1
    fail_count: int = 0
    attempt: int = 0


@dataclass(slots=True)
class Connection:
    id: int
    idle_since: float
    update_id: int | None = None  # the update in flight on it
    task: asyncio.Task[None] | None = None
    timer: asyncio.TimerHandle | None = None


class Delivery:
    """The WebhookActor of one bot for one webhook: started by setWebhook, stopped by any change."""

    def __init__(self, bot: Bot, hook: Webhook, seam: Seam):
        self.bot = bot
        self.hook = hook
        self.seam = seam
        self.rng = random.Random(f"{seam.seed}:webhook:{bot.token}")
        now = bot.clock()
        self.last_success = now - 3600.0  # starts in pending mode (WebhookActor.cpp:694)
        self.first_410: float | None = None
        self.max_loaded = 2 * hook.max_connections
        self.loaded: dict[int, Loaded] = {}  # update id -> its state
        self.queues: dict[int, deque[int]] = {}  # queue key -> loaded update ids, oldest first
        self.ready: list[tuple[float, int]] = []  # (wakeup_at, key) of each queue's head, when it may go
        self.offset = 0  # next update id to load; 0: the queue's head
        self.exhausted = False  # the last load found nothing new
        self.next_unique = UNIQUE_QUEUES
        self.connections: dict[int, Connection] = {}
        self.next_connection = 1
        self.pending_flood = Bucket(2.0, 1)  # add_limit(2, 1)
        self.active_flood = Bucket(0.5, 10)  # add_limit(0.5, 10)
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = float("inf")
        self.stopped = False
        self.target, self.head_headers = _request_line(hook.url, hook.secret_token)
        self._soon()

    # -- triggers ----------------------------------------------------------------

    def update(self) -> None:
        """New updates were queued (WebhookActor::update)."""
        self.exhausted = False
        self._soon()

    def stop(self, why: str) -> None:
        """Close the webhook's delivery: in-flight POSTs are cut and their answers ignored (§2)."""
        if self.stopped:
            return
        self.stopped = True
        if self.timer is not None:
            self.timer.cancel()
        now = self.bot.clock()
        for conn in self.connections.values():
            if conn.update_id is not None:
                item = self.loaded.get(conn.update_id)
                self._event("abort", now, conn.update_id, attempt=item.attempt if item else None,
                            connection=conn.id, error=why)  # fmt: skip
            self._drop_connection(conn)
        self.connections.clear()

    # -- the actor's loop --------------------------------------------------------

    def _soon(self) -> None:
        self._wake_at(self.bot.clock())

    def _wake_at(self, when: float) -> None:
        if self.stopped or when >= self.timer_at:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # outside a loop (setting up a test): the next trigger inside one starts it
        from .bot import SERVER_CONTEXT

        if self.timer is not None:
            self.timer.cancel()
        self.timer_at = when
        self.timer = loop.call_later(max(0.0, when - self.bot.clock()), self._loop, context=SERVER_CONTEXT)

    def _loop(self) -> None:
        self.timer, self.timer_at = None, float("inf")
        if self.stopped:
            return
        now = self.bot.clock()
        self._load(now)
        self._connect(now)
        self._send(now)

    def _load(self, now: float) -> None:
        """Pull updates in id order while fewer than 2 x max_connections queues are loaded (:363-425)."""
        if self.exhausted or len(self.queues) >= self.max_loaded:
            return
        queue = self.bot.queue
        if queue.next_id is not None and self.offset > queue.next_id:
            self.offset = 0  # the queue was wiped and renumbered: start again from its head
        limit = min(LOAD_BATCH, self.max_loaded - len(self.queues))
        entries = queue.after(self.offset, limit, self.bot.unix())
        if not entries:
            self.exhausted = True
        for entry in entries:
            key = entry.queue_key
            if key == 0:
                key = self.next_unique
                self.next_unique += 1
            self.loaded[entry.update_id] = Loaded(entry, key, now)
            self.offset = entry.update_id + 1
            ids = self.queues.get(key)
            if ids is None:
                ids = self.queues[key] = deque()
                heapq.heappush(self.ready, (now, key))
            ids.append(entry.update_id)

    def _connect(self, now: float) -> None:
        """Open connections up to what is wanted: 1 while pending, else up to max_connections (:271-312)."""
        for conn in [c for c in self.connections.values() if c.update_id is None and now - c.idle_since >= IDLE_CLOSE]:
            del self.connections[conn.id]  # an idle keep-alive connection closes after 60 s
        need = min(len(self.queues), self.hook.max_connections)
        if self.last_success + ACTIVE_WINDOW < now:
            flood, need = self.pending_flood, min(need, 1)
        else:
            flood, need = self.active_flood, max(need, 1)
        while len(self.connections) < need:
            wakeup = flood.wakeup_at()
            if now < wakeup:
                self._wake_at(wakeup)
                return
            flood.add(now)
            conn = Connection(self.next_connection, now)
            self.next_connection += 1
            self.connections[conn.id] = conn

    def _send(self, now: float) -> None:
        """Send the ready queue heads, ordered by (wakeup_at, queue key), one per idle connection."""
        while self.ready:
            idle = next((c for c in self.connections.values() if c.update_id is None), None)
            if idle is None:
                return
            wakeup, key = self.ready[0]
            if wakeup > now:
                self._wake_at(wakeup)
                return
            heapq.heappop(self.ready)
            self._post(idle, self.loaded[self.queues[key][0]], now)

    def _post(self, conn: Connection, item: Loaded, now: float) -> None:
        from .bot import SERVER_CONTEXT, later

        item.attempt += 1
        entry = item.entry
        body = entry.render()
        headers = (*self.head_headers, ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                   ("Connection", "keep-alive"), ("Accept-Encoding", "gzip, deflate"))  # fmt: skip
        post = Post(self.bot.token, self.hook.url, self.target, headers, body, entry.update_id, item.attempt, conn.id)
        conn.update_id = entry.update_id
        self._event("deliver", now, entry.update_id, attempt=item.attempt, connection=conn.id)
        assert self.seam.deliver is not None
        conn.task = asyncio.get_running_loop().create_task(self._call(conn, post), context=SERVER_CONTEXT.copy())
        conn.timer = later(POST_TIMEOUT, lambda: self._finish(conn, Failure(READ_TIMEOUT), timed_out=True))

    async def _call(self, conn: Connection, post: Post) -> None:
        assert self.seam.deliver is not None
        try:
            outcome = await self.seam.deliver(post)
        except asyncio.CancelledError:
            raise
        except OSError as exc:  # a real transport's connection errors carry the strerror text Telegram stores
            outcome = Failure(os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__)
        except Exception as exc:  # a broken seam must not wedge the connection: it counts as a failed POST
            outcome = Failure(f"{type(exc).__name__}: {exc}")
        self._finish(conn, outcome if not isinstance(outcome, int) else Answer(outcome))

    def _finish(self, conn: Connection, outcome: Answer | Failure, *, timed_out: bool = False) -> None:
        """One POST ended (WebhookActor::handle): classify, then ack or fail its update."""
        if self.stopped or self.connections.get(conn.id) is not conn or conn.update_id is None:
            return  # aborted, or already timed out: a late answer is ignored
        now = self.bot.clock()
        update_id = conn.update_id
        close = True
        error: str | None = None
        status: int | None = None
        retry_after = 0
        need_close = False
        if timed_out and conn.task is not None:
            conn.task.cancel()
        if isinstance(outcome, Answer):
            status = outcome.status
            close = outcome.close
            if 200 <= outcome.status <= 299:
                self.first_410 = None
                if self.seam.execute is not None and _replies_with_method(outcome):
                    self.seam.execute(self.bot.token, outcome)
            else:
                error = f"Wrong response from the webhook: {outcome.status} {outcome.reason}".rstrip()
                if outcome.status == 410:
                    if self.first_410 is None:
                        self.first_410 = now
                    elif now > self.first_410 + DROP_410_AFTER:
                        need_close = True
                else:
                    self.first_410 = None
                retry_after = _retry_after(outcome.headers)
                self._last_error(error)
        else:
            error = outcome.error or CONNECTION_CLOSED
            if outcome.error is not None:  # a clean close leaves last_error_message as it was (:658-662)
                self._last_error(outcome.error)
        instance = outcome.instance
        conn.update_id = None
        if conn.timer is not None:
            conn.timer.cancel()
        conn.task = conn.timer = None
        if close or need_close:
            del self.connections[conn.id]
        else:
            conn.idle_since = now
        item = self.loaded[update_id]
        if error is None:
            self.last_success = now
            self._event("ack", now, update_id, attempt=item.attempt, connection=conn.id, instance=instance, status=status)
            self._forget(item)
        else:
            self._failed(item, now, error, retry_after, conn.id, instance, status)
        if need_close:
            self._event("close", now, None, error="410 Gone for 23 hours")
            self.bot.close_webhook()
            return
        self._soon()

    def _failed(self, item: Loaded, now: float, error: str, retry_after: int, connection: int,
                instance: str | None, status: int | None) -> None:  # fmt: skip
        """The retry ladder 0, 2, 4, …, capped by a fresh U[60, 120]; or drop if it would expire (:493-523)."""
        retry_after = min(max(retry_after, 0), MAX_RETRY_AFTER)
        next_delay = item.delay
        wait = retry_after
        if retry_after == 0 and item.fail_count > 0:
            next_delay = min(self.rng.randint(MAX_RESEND, 2 * MAX_RESEND), next_delay * 2)
            wait = next_delay
        fields = dict(attempt=item.attempt, connection=connection, instance=instance, status=status, error=error)
        if self.bot.unix() + wait > item.entry.expires_at:
            self._event("fail", now, item.entry.update_id, **fields)
            self._event("drop", now, item.entry.update_id, attempt=item.attempt, error="expired")
            self._forget(item)
            return
        item.delay = next_delay
        item.wakeup_at = now + wait
        item.fail_count += 1
        self._event("fail", now, item.entry.update_id, retry_in=float(wait), **fields)
        heapq.heappush(self.ready, (item.wakeup_at, item.key))

    def _forget(self, item: Loaded) -> None:
        """drop_event: the update leaves its queue and the bot's queue; the next in its queue may go."""
        update_id = item.entry.update_id
        del self.loaded[update_id]
        ids = self.queues[item.key]
        ids.popleft()
        if ids:
            nxt = self.loaded[ids[0]]
            heapq.heappush(self.ready, (nxt.wakeup_at, nxt.key))
        else:
            del self.queues[item.key]
        self.bot.queue.forget(update_id)

    def _last_error(self, message: str) -> None:
        self.bot.webhook_error = (int(self.bot.unix()), message)

    def _drop_connection(self, conn: Connection) -> None:
        if conn.timer is not None:
            conn.timer.cancel()
        if conn.task is not None:
            conn.task.cancel()
        conn.task = conn.timer = None

    def _event(self, event: str, now: float, update_id: int | None, **fields: object) -> None:
        self.seam.log.webhook_event(now, self.bot.token, event, self.hook.url, update_id=update_id, **fields)  # type: ignore[arg-type]

    @property
    def in_flight(self) -> list[int]:
        return sorted(c.update_id for c in self.connections.values() if c.update_id is not None)


def _request_line(url: str, secret: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The POST's target and its first headers: Host, Authorization, the secret (HttpHeaderCreator)."""
    parts = urlsplit(url if "://" in url else "https://" + url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 80 if parts.scheme.lower() == "http" else 443
    if parts.port is not None and parts.port != default:
        host = f"{host}:{parts.port}"
    headers = [("Host", host)]
    userinfo, at, _ = parts.netloc.rpartition("@")
    if at:
        headers.append(("Authorization", "Basic " + base64.b64encode(userinfo.encode()).decode()))
    if secret:
        headers.append(("X-Telegram-Bot-Api-Secret-Token", secret))
    return target, tuple(headers)


def _retry_after(headers: Mapping[str, str]) -> int:
    """``Retry-After: N`` as td reads it: digits only, else 0 (HttpQuery.cpp:36-47)."""
    text = headers.get("retry-after", "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else 0


def _replies_with_method(answer: Answer) -> bool:
    """Whether a 2xx body carries a method the server runs (not set/deleteWebhook, close, logOut, get*)."""
    from .params import Params
    from .wire import read_params

    if not answer.body:
        return False
    params = read_params("", dict(answer.headers), answer.body)
    if not isinstance(params, Params):
        return False
    method = params.text("method").lower()
    return bool(method) and method not in NO_REPLY_METHODS and not method.startswith("get")
