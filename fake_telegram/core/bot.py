"""One bot's server-side state: its single long-poll slot and the conflict throttle.

State that Telegram persists (queue, webhook, allowed_updates) lives on the
``Bot``; state of the running bot *instance* (start time, slot, throttle,
previous-call fields) is reset by ``start`` when close destroys the instance.
Timers run on the asyncio loop, so under a virtual-time loop they elapse virtually.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .envelope import CONFLICT_OTHER_GET_UPDATES, Response, error, ok
from .log import Exchange
from .updates import DEFAULT_ALLOWED, UpdateQueue

if TYPE_CHECKING:
    from .delivery import Delivery, Seam

Clock = Callable[[], float]

# The server's timers run in a context of their own: a simulator that stops a killed
# or paused instance's callbacks by their context must not stop the server's half.
SERVER_CONTEXT = contextvars.Context()


def later(delay: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
    return asyncio.get_running_loop().call_later(delay, callback, context=SERVER_CONTEXT)


@dataclass(frozen=True, slots=True)
class Rules:
    """The server's timing constants; knobs for experiments, defaults from the source."""

    conflict_hold: float = 3.0  # fail_query_conflict, Client.cpp:16238-16251
    wake_after: float = 0.001  # LONG_POLL_WAIT_AFTER
    wake_max: float = 0.002  # LONG_POLL_MAX_DELAY
    close_min_age: float = 600.0  # close answers 429 before this age
    close_takes: float = 0.05  # while closing, requests get 500 "restart"


@dataclass(slots=True)
class Webhook:
    url: str
    max_connections: int
    ip_address: str
    secret_token: str
    has_certificate: bool


class Bot:
    def __init__(
        self, token: str, bot_id: int, rng: random.Random, clock: Clock, epoch: float, rules: Rules,
        keep_sent: int | None = None, seam: Seam | None = None,
    ):  # fmt: skip
        self.token = token
        self.epoch = epoch
        self.id = bot_id
        self.clock = clock
        self.rules = rules
        self.queue = UpdateQueue(rng)
        self.allowed = DEFAULT_ALLOWED
        self.webhook: Webhook | None = None
        self.seam = seam  # how webhook POSTs leave the server; none: updates stay queued
        self.delivery: Delivery | None = None  # the running webhook delivery (delivery.py)
        self.webhook_error: tuple[int, str] | None = None  # last_error_date, last_error_message
        self.logged_out_until: float | None = None
        # what the bot sent: sendMessage and friends; as bounded as the request log
        self.outbox: list[Exchange] | deque[Exchange] = [] if keep_sent is None else deque(maxlen=keep_sent)
        self.last_message_id = 0
        self.last_file_id = 0  # file ids and media group ids of what the bot sent
        self.last_poll_id = 0
        self.profile: dict[tuple[str, str], Any] = {}  # (setMy… field, scope and language) -> value, as Telegram keeps it
        self.start()

    def start(self) -> None:
        """A fresh bot instance: first login, or a request after close."""
        self.started_at = self.clock()
        self.closed = False
        self.closing_until: float | None = None
        self.poll: Exchange | None = None
        self._poll_from = 0
        self._poll_limit = 100
        self._deadline: asyncio.TimerHandle | None = None
        self._wake: asyncio.TimerHandle | None = None
        self._first_update_at: float | None = None
        self.next_conflict_at = float("-inf")
        self.prev_offset: int | None = None
        self.prev_at = float("-inf")
        self.last_set_webhook_at = float("-inf")
        if self.webhook is not None:  # a new instance starts its webhook afresh (pending mode, from the head)
            self.restart_delivery()

    # -- webhook delivery --------------------------------------------------------

    def restart_delivery(self, why: str = "webhook changed") -> None:
        """Stop the current delivery (cutting in-flight POSTs) and start one for ``webhook`` if set."""
        if self.delivery is not None:
            self.delivery.stop(why)
            self.delivery = None
        if self.webhook is not None and self.seam is not None and self.seam.deliver is not None:
            from .delivery import Delivery

            self.delivery = Delivery(self, self.webhook, self.seam)

    def close_webhook(self) -> None:
        """The server removes the webhook itself (410 for 23 h); queued updates stay."""
        self.webhook = None
        self.webhook_error = None
        self.restart_delivery("webhook closed")

    # -- conflicts -------------------------------------------------------------

    def conflict(self, exchange: Exchange, description: str) -> None:
        """Answer 409: at once if the throttle allows, else after the hold (§4.2)."""
        response = error(409, description)
        now = self.clock()
        if now >= self.next_conflict_at:
            self.next_conflict_at = now + self.rules.conflict_hold
            exchange.answer(response, now)
        else:
            later(self.rules.conflict_hold, lambda: exchange.answer(response, self.clock()))

    # -- the long-poll slot ----------------------------------------------------

    def kick(self, by: Exchange | None, description: str) -> None:
        """Terminate the pending poll (if any) with a 409; the newer request wins."""
        old = self.poll
        if old is None:
            return
        self._vacate()
        if by is not None:
            old.kicked_by = by.id
            by.kicked = old.id
        self.conflict(old, description)

    def wait(self, exchange: Exchange, offset: int, limit: int, timeout: int) -> None:
        """Make ``exchange`` the pending long poll, kicking the older one (§4.1)."""
        self.kick(exchange, CONFLICT_OTHER_GET_UPDATES)
        self.poll = exchange
        exchange.long_poll = True
        self._poll_from = offset  # re-read with it when woken or timed out (Client.cpp:16420)
        self._poll_limit = limit
        self._deadline = later(timeout, self.answer_poll)

    def updates_arrived(self) -> None:
        """Wake the pending poll ~1 ms after an update, at most 2 ms after the first (§3.4)."""
        if self.delivery is not None:
            self.delivery.update()
        if self.poll is None:
            return
        now = self.clock()
        if self._first_update_at is None:
            self._first_update_at = now
        when = min(now + self.rules.wake_after, self._first_update_at + self.rules.wake_max)
        if self._wake is not None:
            self._wake.cancel()
        self._wake = later(when - now, self.answer_poll)

    def answer_poll(self) -> None:
        """Answer the pending poll with what its own offset and limit read now."""
        poll = self.poll
        if poll is None:
            return
        self._vacate()
        poll.answer(self.read(poll, self._poll_from, self._poll_limit), self.clock())

    def read(self, exchange: Exchange, offset: int, limit: int) -> Response:
        """do_get_updates: an in-window positive offset confirms below it; anything else reads the head."""
        queue = self.queue
        if offset > 0 and queue.in_window(offset):
            queue.confirm_below(offset)
            from_id = offset
        else:
            from_id = 0  # the head; nothing is confirmed
        entries = queue.read(from_id, limit, self.unix())
        exchange.update_ids = tuple(e.update_id for e in entries)
        raw = b"[" + b",".join(e.render() for e in entries) + b"]"
        return ok(list(exchange.update_ids), raw=raw.decode())

    def unix(self) -> float:
        """Unix time now; ``epoch`` is the Unix time at clock() == 0."""
        return self.epoch + self.clock()

    def _vacate(self) -> None:
        self.poll = None
        self._first_update_at = None
        for handle in (self._deadline, self._wake):
            if handle is not None:
                handle.cancel()
        self._deadline = self._wake = None
