"""A bot's update queue: ids, expiry, capacity and confirmation (docs/telegram-rules.md §3.3, §7).

Ids start at a random value and then grow by exactly one per queued update; a
read never confirms anything, only a later offset above an id deletes it.
Expired updates are dropped lazily, on every read and count.
"""

from __future__ import annotations

import json
import random
import zlib
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Any

from .envelope import dumps, utf8

UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "inline_query",
    "chosen_inline_result", "callback_query", "custom_event", "custom_query", "shipping_query",
    "pre_checkout_query", "poll", "poll_answer", "my_chat_member", "chat_member",
    "chat_join_request", "chat_boost", "removed_chat_boost", "message_reaction",
    "message_reaction_count", "business_connection", "business_message",
    "edited_business_message", "deleted_business_messages", "purchased_paid_media",
    "managed_bot", "guest_message",
)  # fmt: skip
_BY_LOWER = {name.lower(): name for name in UPDATE_TYPES}
DEFAULT_ALLOWED = frozenset(UPDATE_TYPES) - {"chat_member", "message_reaction", "message_reaction_count"}

DAY = 86400.0
_DATED = {  # expire a day after the object's own date; not queued at all when already past
    "message", "edited_message", "channel_post", "edited_channel_post", "business_message",
    "edited_business_message", "guest_message", "my_chat_member", "chat_member",
    "chat_join_request", "chat_boost", "removed_chat_boost", "message_reaction",
    "message_reaction_count",
}  # fmt: skip
_LIFETIME = {
    "inline_query": 30.0,
    "chosen_inline_result": 600.0,
    "custom_event": 600.0,
    "callback_query": 150.0,
    "shipping_query": 150.0,
    "pre_checkout_query": 150.0,
}
WEEK = 7 * DAY
FIRST_ID_MIN, FIRST_ID_MAX = 2_000_001, 1_000_000_000
ID_LIMIT = 2_000_000_000
MAX_UPDATES = 100_000
MAX_TOTAL_BYTES = 128 << 20
MAX_UPDATE_BYTES = 512 << 10
MAX_RESULT_BYTES = 4 << 20
PAST_WINDOW = 100_000
FUTURE_WINDOW = 10


def parse_allowed(text: str) -> frozenset[str] | None:
    """The new allowed_updates set, or None to keep the current one (§7.4)."""
    if text == "":
        return None
    try:
        names = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    chosen = frozenset(_BY_LOWER[n.lower()] for n in names if n.lower() in _BY_LOWER)
    return chosen or DEFAULT_ALLOWED


def update_type(update: dict[str, Any]) -> str | None:
    for key in update:
        if key != "update_id" and key in _BY_LOWER.values():
            return key
    return None


def expiry(kind: str, update: dict[str, Any], now: float) -> float:
    """Unix time after which Telegram no longer delivers this update."""
    if kind in _DATED:
        body = update.get(kind)
        date = None
        if isinstance(body, dict):
            date = body.get("edit_date") or body.get("date")
        if isinstance(date, (int, float)) and not isinstance(date, bool):
            if not -1e12 < date < 1e12:
                raise ValueError(f"{kind}.date must be a Unix time, got {date!r}")
            return date + DAY
        return now + DAY
    if kind == "custom_query":
        return now + _custom_query_timeout(update.get(kind))
    return now + _LIFETIME.get(kind, DAY)


def _custom_query_timeout(body: Any) -> float:
    """A custom query lives for its own ``timeout``; none, or one <= 0, means a day (Client.cpp:17265)."""
    timeout = body.get("timeout") if isinstance(body, dict) else None
    if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout > 0:
        return float(min(timeout, 2**31 - 1))  # an int32 in TDLib
    return DAY


_CHAT_KEYED = {  # queued by the chat they happen in (Client.cpp:17959, 17279-17354)
    "message", "edited_message", "channel_post", "edited_channel_post", "business_message",
    "edited_business_message", "guest_message", "my_chat_member", "message_reaction",
    "message_reaction_count", "chat_boost", "removed_chat_boost", "deleted_business_messages",
}  # fmt: skip
_USER_KEYED = {  # queued by the user who caused them, offset per type (Client.cpp:17073-17075, 17155-17158)
    "inline_query": 1 << 33, "chosen_inline_result": 2 << 33, "callback_query": 3 << 33,
    "shipping_query": 4 << 33, "pre_checkout_query": 4 << 33, "chat_member": 0, "chat_join_request": 0,
    "purchased_paid_media": 0,
}  # fmt: skip


def queue_key(kind: str, update: dict[str, Any]) -> int:
    """The webhook queue an update is delivered in, one at a time (webhooks: one in flight per key).

    0 means a queue of its own (custom_event, custom_query, or an update missing the field the
    key comes from): such updates go out in parallel with everything.
    """
    body = update.get(kind)
    if not isinstance(body, dict):
        return 0
    if kind in _CHAT_KEYED:
        return _int_id(_field(body, "chat", "id"))
    if kind in _USER_KEYED:
        user = _int_id(_field(body, "from", "id"))
        return user + _USER_KEYED[kind] if user else 0
    if kind == "business_connection":
        return _int_id(_field(body, "user", "id"))
    if kind in ("poll", "poll_answer"):
        poll = body.get("id" if kind == "poll" else "poll_id")
        if isinstance(poll, str) and poll and not (poll.isascii() and poll.isdigit()):
            return zlib.crc32(poll.encode()) + (5 << 33)  # Telegram's poll ids are numbers; a stable stand-in
        return _int_id(poll)
    return 0


def _field(body: dict[str, Any], outer: str, inner: str) -> Any:
    value = body.get(outer)
    return value.get(inner) if isinstance(value, dict) else None


def _int_id(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isascii() and value.lstrip("-").isdigit():
        return int(value)
    return 0


def render(update: dict[str, Any]) -> bytes:
    """The update's JSON after its update_id field (ValueError if it is not JSON)."""
    return utf8(dumps({k: v for k, v in update.items() if k != "update_id"})[1:])


@dataclass(slots=True)
class Queued:
    update_id: int
    kind: str
    expires_at: float
    tail: bytes  # the update's JSON after its update_id field
    queue_key: int = 0  # the webhook queue (queue_key); 0: a queue of its own

    def render(self) -> bytes:
        """``{"update_id":N,`` then a literal newline, as WebhookActor.h:226-237 writes it."""
        return b'{"update_id":%d,\n%s' % (self.update_id, self.tail)


class UpdateQueue:
    __slots__ = ("_bytes", "_entries", "_next_expiry", "_rng", "last_push", "next_id")

    def __init__(self, rng: random.Random):
        self._entries: deque[Queued] = deque()
        self._rng = rng
        self.next_id: int | None = None  # None: no remembered tail, start anywhere
        self.last_push: float | None = None
        self._bytes = 0
        self._next_expiry = float("inf")  # no entry expires before this

    @property
    def exists(self) -> bool:
        return self.next_id is not None

    def push(self, update: dict[str, Any], kind: str, now: float) -> int | None:
        """Queue an update; its id, or None when Telegram would silently drop it."""
        expires_at = expiry(kind, update, now)
        if expires_at <= now:
            return None
        tail = render(update)
        if len(tail) > MAX_UPDATE_BYTES or len(self._entries) >= MAX_UPDATES:
            return None
        if self._bytes + len(tail) > MAX_TOTAL_BYTES:
            return None
        self.purge(now)
        stale = self.last_push is not None and now - self.last_push >= WEEK and not self._entries
        if self.next_id is None or stale:
            self.next_id = self._rng.randint(FIRST_ID_MIN, FIRST_ID_MAX)
        elif self.next_id + 1 >= ID_LIMIT:  # an id is used only if id + 1 is valid too (TQueue.cpp:169-179)
            self.clear()
            self.next_id = self._rng.randint(FIRST_ID_MIN, FIRST_ID_MAX)
        update_id = self.next_id
        self.next_id += 1
        self.last_push = now
        self._entries.append(Queued(update_id, kind, expires_at, tail, queue_key(kind, update)))
        self._bytes += len(tail)
        self._next_expiry = min(self._next_expiry, expires_at)
        return update_id

    def purge(self, now: float) -> None:
        """Drop expired updates; a no-op unless the earliest expiry has passed."""
        if now < self._next_expiry:
            return
        kept = [e for e in self._entries if e.expires_at > now]
        self._entries = deque(kept)
        self._bytes = sum(len(e.tail) for e in kept)
        self._next_expiry = min((e.expires_at for e in kept), default=float("inf"))

    def clear(self, keep: int = 0) -> None:
        """Delete all but the newest ``keep`` updates; numbering continues (§3.3, §7.2)."""
        while len(self._entries) > keep:
            self._bytes -= len(self._entries.popleft().tail)

    def confirm_below(self, offset: int) -> None:
        entries = self._entries
        while entries and entries[0].update_id < offset:
            self._bytes -= len(entries.popleft().tail)

    def forget(self, update_id: int) -> None:
        """Delete one update wherever it is: a webhook delivered it (TQueue forget)."""
        entries = self._entries
        at = bisect_left(entries, update_id, key=_update_id)
        if at < len(entries) and entries[at].update_id == update_id:
            self._bytes -= len(entries[at].tail)
            del entries[at]

    def after(self, from_id: int, limit: int, now: float) -> list[Queued]:
        """Up to ``limit`` live updates with id >= ``from_id``, oldest first (a webhook loading)."""
        self.purge(now)
        entries = self._entries
        at = bisect_left(entries, from_id, key=_update_id)
        return list(islice(entries, at, at + limit))

    def in_window(self, offset: int) -> bool:
        """Whether a positive offset is "normal" (TQueue.cpp:221-313); else read from the head."""
        if self.next_id is None or offset >= ID_LIMIT:
            return False
        head = self._entries[0].update_id if self._entries else self.next_id
        return head - PAST_WINDOW <= offset <= self.next_id + FUTURE_WINDOW

    def read(self, from_id: int, limit: int, now: float) -> list[Queued]:
        self.purge(now)
        out: list[Queued] = []
        left = MAX_RESULT_BYTES
        for entry in self._entries:
            if len(out) >= limit:
                break
            if entry.update_id < from_id:
                continue
            # JsonUpdates (Client.cpp:16301-16319): each update costs 50 + its stored `"type":{…}` slice
            # (our tail less its closing brace); the update that uses the budget up is left out
            left -= 50 + len(entry.tail) - 1
            if left <= 0:
                break
            out.append(entry)
        return out

    def pending(self, now: float) -> int:
        self.purge(now)
        return len(self._entries)

    def ids(self) -> list[int]:
        return [e.update_id for e in self._entries]


def _update_id(entry: Queued) -> int:
    return entry.update_id
