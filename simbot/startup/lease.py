"""``lease``: only the holder of a time-bounded lease in a shared store polls.

The safety argument, with the traps of telegram-bot-api.md in mind:

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

Assumptions it cannot remove (Telegram offers no fencing token): the process is not
paused for longer than ``margin`` between computing a poll's timeout and the poll
reaching Telegram; clocks tick at the same rate; nobody polls without the lease (a
stray laptop will still conflict); delivery across a holder change is at least
once (a holder that loses the store cannot confirm its last batch).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

from telegram.error import Conflict, RetryAfter, TelegramError
from telegram.ext import Application

from .base import first, log, shut_down, stop_event
from .stores.base import LeaseStore, StoreUnavailable

MIN_POLL_TIMEOUT = 3  # below this the server's anti-spin rule may raise it anyway


@dataclass
class _Holding:
    valid_until: float
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # renewed, or lost
    lost: bool = False


@dataclass(frozen=True)
class LeasePolicy:
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

    async def __call__(self, app: Application) -> None:  # type: ignore[type-arg]
        stop = stop_event()
        await app.initialize()
        await app.start()
        try:
            while not stop.is_set():
                holding = await self._acquire(stop)
                if holding is None:
                    break
                await self._hold(app, holding, stop)
        finally:
            await shut_down(app)

    # -- the lease -------------------------------------------------------------

    async def _store(self, call) -> bool | None:  # type: ignore[no-untyped-def]
        """A store call within ``store_timeout``; None if the store did not answer."""
        try:
            return bool(await asyncio.wait_for(call, self.store_timeout))
        except (StoreUnavailable, TimeoutError) as exc:
            log.warning("lease store did not answer (%s): not polling until it does", exc or "timeout")
            return None

    async def _acquire(self, stop: asyncio.Event) -> _Holding | None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            sent = loop.time()
            if await self._store(self.store.acquire(self.key, self.owner, self.ttl)):
                log.info("%s holds the lease until %.3f", self.owner, sent + self.ttl)
                return _Holding(sent + self.ttl)
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

    # -- polling while holding it ------------------------------------------------

    async def _hold(self, app: Application, holding: _Holding, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
        loop = asyncio.get_running_loop()
        renewer = asyncio.ensure_future(self._renew(holding))
        offset: int | None = None
        sent_offset: object = object()  # the raw offset of the last poll sent
        try:
            await app.bot.delete_webhook()
            while not stop.is_set() and not holding.lost:
                room = holding.valid_until - self.margin - loop.time()
                timeout = int(min(self.poll_timeout, room))
                if timeout < MIN_POLL_TIMEOUT:
                    if room <= 0:
                        log.warning("%s: lease expires without a renewal; stopped polling", self.owner)
                        return
                    holding.changed.clear()
                    await first(stop.wait(), holding.changed.wait(), timeout=room)
                    continue
                sent_offset = offset
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
                    await asyncio.sleep(float(exc.retry_after if isinstance(exc.retry_after, int) else 1))
                    continue
                except TelegramError as exc:
                    log.warning("getUpdates failed (%s); retrying", exc)
                    await asyncio.sleep(1)
                    continue
                for update in updates:
                    await app.update_queue.put(update)
                    offset = update.update_id + 1
        finally:
            renewer.cancel()
            still_valid = loop.time() < holding.valid_until - self.margin and not holding.lost
            if still_valid and offset is not None and offset != sent_offset:
                try:  # never bumped: its raw offset differs from the last poll's
                    await app.bot.get_updates(offset=offset, timeout=0)
                except TelegramError as exc:
                    log.warning("could not confirm the last batch (%s): it will be delivered again", exc)
            if still_valid:
                await self._store(self.store.release(self.key, self.owner))
                log.info("%s released the lease", self.owner)


async def _until_lost(holding: _Holding) -> None:
    while not holding.lost:
        holding.changed.clear()
        await holding.changed.wait()
