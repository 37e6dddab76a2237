"""``lease``: only the holder of a time-bounded lease in a shared store polls.

The safety argument, with the traps of docs/telegram-rules.md in mind:

- Validity is measured from when an acquire or renew was *sent*: ``valid_until =
  sent + ttl``, never later than the store's own expiry.
- Every getUpdates is sent with ``timeout <= valid_until - margin - now``. The server
  holds a poll for at most its timeout (§3.4), so even a poll the client cancels (a
  ghost, §9) leaves the slot before the lease can pass to someone else. ``margin``
  covers network latency to Telegram.
- No poll is sent with a timeout below 3: the anti-spin rule (§3.2) would raise it
  to 3 behind our back.
- On the way out, the updates of the last batch are confirmed with
  ``getUpdates(offset=next, timeout=0)`` only while the lease is still valid, and
  only if ``next`` differs from the last poll's raw offset: a same-offset call would
  be bumped into a 3 s long poll that kicks the next holder (§3.2, §4.3). Then the
  lease is released, so a successor starts at once.
- A store that is slow or down is not an answer: the holder stops polling before
  its validity runs out, logs why, and tries to acquire again. Safety before
  liveness.
- A store that lost its data (restarted empty, flushed, failed over to a replica
  that lagged) grants a lease its previous holder still believes it holds. So an
  ended lease keeps its record, and a grant over *no record* (``Grant.FRESH``: the
  key was never used, or the store lost it) is followed by one full TTL, measured
  from the grant's answer, without any getUpdates: every earlier holder's validity
  ran from a request sent before the loss, so it is over by then. The lease is held
  and renewed meanwhile, and released at the end only once that wait is over (a
  release writes "ended" into the record, which a successor then trusts). A store
  that answers a plain ``True`` is treated as fresh. A record written after a loss
  expires only after that wait, so an expired record is always trusted. Cost: one
  TTL at the very first start, and after a loss; handovers and expiries stay as
  fast as before.

Assumptions it cannot remove (Telegram offers no fencing token): the process is not
paused for longer than ``margin`` between computing a poll's timeout and the poll
reaching Telegram; clocks tick at the same rate; nobody polls without the lease (a
stray laptop will still conflict); delivery across a holder change is at least
once (a holder that loses the store cannot confirm its last batch); a store does not
bring back a record older than one it answered while its holder still renews (a
Redis failover to a lagging replica can; a loss or a restart is detected).
"""

from __future__ import annotations

import asyncio
import secrets
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from .base import first, log, shut_down, stop_event
from .errors import Conflict, NetworkError, RetryAfter, TelegramError
from .stores.base import Grant, LeaseStore, StoreUnavailable

if TYPE_CHECKING:
    from telegram.ext import Application

MIN_POLL_TIMEOUT = 3  # below this the server's anti-spin rule may raise it anyway


@dataclass
class _Holding:
    valid_until: float
    quiet_until: float  # no getUpdates before this: someone from before a store's data loss may still poll
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # renewed, or lost
    lost: bool = False


@dataclass(frozen=True)
class Lease:
    """The lease, whatever framework polls under it: its parameters, acquire, renew, and the stop-time
    confirm of the last batch. ``LeasePolicy`` polls a PTB Application under it, ``aiogram.AiogramLease``
    an aiogram Dispatcher."""

    store: LeaseStore
    owner: str = field(default_factory=lambda: secrets.token_hex(8))
    key: str = "telegram-poller"
    ttl: float = 15.0
    renew_every: float = 4.0
    margin: float = 2.0
    retry_every: float = 2.0
    poll_timeout: int = 10
    store_timeout: float = 2.0

    def __post_init__(self) -> None:
        if self.renew_every + self.store_timeout + MIN_POLL_TIMEOUT + self.margin >= self.ttl:
            raise ValueError(
                f"lease: ttl {self.ttl} s must exceed renew_every + store_timeout + {MIN_POLL_TIMEOUT} + margin "
                f"({self.renew_every} + {self.store_timeout} + {MIN_POLL_TIMEOUT} + {self.margin} s), "
                "or polling would stop between renewals"
            )

    # -- the lease -------------------------------------------------------------

    async def _store(self, call) -> Grant | bool | None:  # type: ignore[no-untyped-def]
        """A store call within ``store_timeout``; None if the store did not answer."""
        try:
            answer = await asyncio.wait_for(call, self.store_timeout)
            return answer if isinstance(answer, Grant) else bool(answer)
        except (StoreUnavailable, TimeoutError) as exc:
            log.warning("lease store did not answer (%s): not polling until it does", str(exc) or "timeout")
            return None

    async def _acquire(self, stop: asyncio.Event) -> _Holding | None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            sent = loop.time()
            grant = await self._store(self.store.acquire(self.key, self.owner, self.ttl))
            if grant:
                log.info("%s holds the lease until %.3f", self.owner, sent + self.ttl)
                quiet_until = float("-inf")
                if grant is not Grant.CLEAN:  # a record made after a data loss expires only after this
                    quiet_until = loop.time() + self.ttl
                    log.warning("%s: the store had no record of the lease (first use, or it lost its data); "
                                "no getUpdates until %.3f, when any earlier holder's lease is over",
                                self.owner, quiet_until)  # fmt: skip
                return _Holding(sent + self.ttl, quiet_until)
            await first(stop.wait(), timeout=self.retry_every)
        return None

    async def _renew(self, holding: _Holding) -> None:
        loop = asyncio.get_running_loop()
        while not holding.lost:
            await asyncio.sleep(self.renew_every)
            sent = loop.time()
            renewed = await self._store(self.store.renew(self.key, self.owner, self.ttl))
            if renewed:
                holding.valid_until = sent + self.ttl
            elif renewed is False:
                log.warning("%s lost the lease: someone else holds it", self.owner)
                holding.lost = True
            holding.changed.set()

    async def _confirm_before_leaving(self, confirm: Callable[[int], Awaitable[float]], holding: _Holding,
                                      offset: int | None, seen: _Seen) -> None:  # fmt: skip
        """Confirm the last batch while still holding the lease (renewals go on), so the next
        holder does not get it again; give up only when the lease ends (or SIGKILL comes)."""
        loop = asyncio.get_running_loop()
        while offset is not None and offset != seen.acked and not holding.lost:
            now = loop.time()
            room = holding.valid_until - self.margin - now
            if room <= 0:
                log.warning("could not confirm the last batch before the lease ended: it will be delivered again")
                return
            if now < holding.quiet_until:  # a getUpdates now could kick a holder from before a data loss
                await asyncio.sleep(min(room, holding.quiet_until - now))
                continue
            if not seen.bump_free(offset, now, room, self.margin):
                await asyncio.sleep(min(room, seen.at + MIN_POLL_TIMEOUT + self.margin - now))
                continue
            await asyncio.sleep(min(room, await confirm(offset)))


@dataclass(frozen=True)
class LeasePolicy(Lease):
    """The lease for a python-telegram-bot 22 ``Application``: it polls itself, and PTB handles."""

    async def __call__(self, app: Application) -> None:  # type: ignore[type-arg]
        stop = stop_event()
        if not await _initialize(app, stop):
            return
        await app.start()
        offset: int | None = None  # kept across holds: a re-acquired lease must not refetch what we handled
        try:
            while not stop.is_set():
                holding = await self._acquire(stop)
                if holding is None:
                    break
                offset = await self._hold(app, holding, stop, offset)
        finally:
            await shut_down(app)

    # -- polling while holding it ------------------------------------------------

    async def _hold(self, app: Application, holding: _Holding, stop: asyncio.Event,  # type: ignore[type-arg]
                    offset: int | None) -> int | None:  # fmt: skip
        """Poll while the lease lasts; the offset to go on from."""
        loop = asyncio.get_running_loop()
        renewer = asyncio.ensure_future(self._renew(holding))
        seen = _Seen()
        try:
            while not stop.is_set() and not holding.lost and not await self._clear_webhook(app):
                await first(stop.wait(), timeout=1)
            while not stop.is_set() and not holding.lost and loop.time() < holding.quiet_until:
                await first(stop.wait(), _until_lost(holding), timeout=holding.quiet_until - loop.time())
            while not stop.is_set() and not holding.lost:
                room = holding.valid_until - self.margin - loop.time()
                timeout = int(min(self.poll_timeout, room))
                if timeout < MIN_POLL_TIMEOUT:
                    if offset is not None and offset != seen.acked and room > 0 and seen.bump_free(offset, loop.time(), room, self.margin):
                        await asyncio.sleep(min(room, await self._confirm(app, offset, seen)))  # while the lease covers it
                        continue
                    if room <= 0:
                        log.warning("%s: lease expires without a renewal; stopped polling", self.owner)
                        return offset
                    holding.changed.clear()
                    await first(stop.wait(), holding.changed.wait(), timeout=room)
                    continue
                acked, seen.acked = seen.acked, offset  # a poll on its way confirms at arrival...
                seen.sent(offset, loop.time())
                poll = asyncio.ensure_future(app.bot.get_updates(offset=offset, timeout=timeout))
                await first(poll, stop.wait(), _until_lost(holding))
                if not poll.done():
                    poll.cancel()  # the server keeps it at most `timeout` s: inside the lease
                    continue
                try:
                    updates = poll.result()
                except Conflict:
                    log.error("409 while holding the lease: someone polls without it")
                    await asyncio.sleep(1)
                    continue
                except RetryAfter as exc:
                    seen.acked = acked  # ...unless Telegram refused it
                    await asyncio.sleep(_seconds(exc))
                    continue
                except TelegramError as exc:
                    seen.acked = acked
                    log.warning("getUpdates failed (%s); retrying", exc)
                    await asyncio.sleep(1)
                    continue
                if loop.time() >= holding.valid_until - self.margin and updates:
                    log.warning("%s: a batch came back after the lease ran out (paused?); "
                                "leaving it to the next holder", self.owner)  # fmt: skip
                    continue
                for update in updates:
                    await app.update_queue.put(update)
                    offset = update.update_id + 1
        finally:
            await self._confirm_before_leaving(lambda o: self._confirm(app, o, seen), holding, offset, seen)
            renewer.cancel()
            if holding.quiet_until <= loop.time() < holding.valid_until - self.margin and not holding.lost:
                await self._store(self.store.release(self.key, self.owner))  # "ended": trusted by the next holder
                log.info("%s released the lease", self.owner)
        return offset

    @staticmethod
    async def _clear_webhook(app: Application) -> bool:  # type: ignore[type-arg]
        """deleteWebhook; a Telegram error (a 429 burst, a 5xx) is waited out, not fatal."""
        try:
            await app.bot.delete_webhook()
            return True
        except RetryAfter as exc:
            log.warning("deleteWebhook throttled (%s); retrying", exc)
            await asyncio.sleep(_seconds(exc))
        except TelegramError as exc:
            log.warning("deleteWebhook failed (%s); retrying", exc)
        return False

    @staticmethod
    async def _confirm(app: Application, offset: int, seen: _Seen) -> float:  # type: ignore[type-arg]
        """getUpdates(offset, timeout=0): Telegram forgets everything below ``offset``.
        Returns how long to wait before trying again (0 when it went through)."""
        seen.sent(offset, asyncio.get_running_loop().time())
        try:
            await app.bot.get_updates(offset=offset, timeout=0)
        except RetryAfter as exc:
            log.warning("could not confirm the last batch yet (%s)", exc)
            return _seconds(exc)
        except TelegramError as exc:
            log.warning("could not confirm the last batch yet (%s)", exc)
            return 1.0
        seen.acked = offset
        return 0.0


@dataclass
class _Seen:
    """What Telegram has seen of our polls: its anti-spin rule (§3.2) compares each call with the last."""

    offset: object = "never"  # raw offset of the last getUpdates sent
    at: float = float("-inf")  # when it was sent
    acked: int | None = None  # the last raw offset a getUpdates went through with

    def sent(self, offset: int | None, now: float) -> None:
        self.offset, self.at = offset, now

    def bump_free(self, offset: int, now: float, room: float, margin: float) -> bool:
        """Whether a timeout=0 call with ``offset`` cannot turn into a long poll outliving the lease:
        its raw offset differs from the last call's, or 3 s (+ margin) have passed, or 3 s still fit."""
        return offset != self.offset or now - self.at >= MIN_POLL_TIMEOUT + margin or room >= MIN_POLL_TIMEOUT


async def _initialize(app: Application, stop: asyncio.Event) -> bool:  # type: ignore[type-arg]
    """getMe until it works: a 429 burst or a 5xx at start-up must not end the process
    (a platform may cut over to a crashed instance, or back off its restarts for minutes)."""
    while not stop.is_set():
        try:
            await app.initialize()
            return True
        except RetryAfter as exc:
            wait = _seconds(exc)
        except NetworkError as exc:  # also TimedOut and 5xx answers
            wait = 1.0
            log.warning("start-up: getMe failed (%s); retrying in %g s", exc, wait)
        await first(stop.wait(), timeout=wait)
    return False


def _seconds(exc: RetryAfter) -> float:
    """``retry_after`` in seconds (an int in PTB 22, a timedelta when PTB_TIMEDELTA is set)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22.2+ warns on reading it as an int
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def _until_lost(holding: _Holding) -> None:
    while not holding.lost:
        holding.changed.clear()
        await holding.changed.wait()
