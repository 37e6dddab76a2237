"""``aiogram-lease``: the lease of ``lease.py`` for an aiogram 3 ``Dispatcher``.

Same safety argument as the python-telegram-bot lease (read ``lease.py``'s docstring):
every getUpdates fits in the lease with ``margin`` to spare and a timeout of at least 3 s,
validity runs from when acquire/renew was sent, a store that does not answer stops
polling before validity runs out, a ``Grant.FRESH`` is followed by one TTL without any
getUpdates, the last batch is confirmed at stop only while the lease is valid and only
if the call cannot be bumped into a long poll, then the lease is released.

What differs, and why: aiogram polls by itself (``Dispatcher.start_polling`` →
``_polling`` → ``_listen_updates``), so the policy does not poll. It runs the user's own
``dp`` and handlers unchanged and puts a *request middleware* on ``bot.session``, the one
place every getUpdates passes. The middleware (``_Run.gate``) holds each poll until the
lease is held with room for it, sets that poll's ``timeout`` to fit, races it against the
loss of the lease, and returns a batch only if it came back in time; an error from
Telegram is waited out there (429 for its ``retry_after``), so aiogram's own backoff never
sees one. aiogram keeps one ``GetUpdates`` object for the life of ``_listen_updates`` and
sets its ``offset`` after each update it hands on, so the offset to confirm is read from
that object; aiogram sends no confirming call when it stops, so the policy does. The
lease is acquired and renewed in tasks of their own: cancelling polling (aiogram's stop)
never cuts a store call short without the policy knowing what it got.

In production::

    asyncio.run(simbot.startup.aiogram.run(dp, bot, AiogramLease(RedisStore.from_url(url))))

It registers its own SIGINT/SIGTERM/SIGABRT handlers (``start_polling(handle_signals=False)``),
stops aiogram's polling with ``dp.stop_polling()``, confirms, releases, lets the running
handlers finish, closes the bot's session and returns (exit 0).

Importable without aiogram: aiogram is imported when the policy runs.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import first, log, stop_event
from .lease import MIN_POLL_TIMEOUT, Lease, _Holding, _Seen, _until_lost

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

_own_call: contextvars.ContextVar[bool] = contextvars.ContextVar("simbot_lease_own_call", default=False)


async def run(dp: Dispatcher, bot: Bot, policy: AiogramLease) -> None:
    """Run ``dp`` with ``bot`` under ``policy``: returns for exit 0."""
    await policy(dp, bot)


@dataclass(frozen=True)
class AiogramLease(Lease):
    """Only the holder of the lease polls; aiogram's own Dispatcher does the polling and the handling."""

    async def __call__(self, dp: Dispatcher, bot: Bot) -> None:
        stop = stop_event()
        try:
            if not await _get_me(bot, stop):
                return
            run = _Run(self, bot, stop)
            bot.session.middleware(run.gate)
            polling = asyncio.ensure_future(dp.start_polling(bot, polling_timeout=self.poll_timeout,
                                                             handle_signals=False, close_bot_session=False))  # fmt: skip
            try:
                await first(stop.wait(), polling)
                if not polling.done():
                    await _stop_polling(dp, polling)
                polling.result()  # what start_polling raised (a startup hook's error) is a crash, not a stop
            finally:
                if not polling.done():
                    polling.cancel()
                await run.leave()
                bot.session.middleware.unregister(run.gate)
                await _handlers_done(dp)
        finally:
            await bot.session.close()


class _Run:
    """One process's lease state, shared by the gate (inside aiogram's polling task) and the exit."""

    def __init__(self, policy: AiogramLease, bot: Bot, stop: asyncio.Event):
        from aiogram.methods import GetUpdates

        self.policy, self.bot, self.stop = policy, bot, stop
        self.get_updates_type = GetUpdates
        self.seen = _Seen()
        self.holding: _Holding | None = None
        self.renewer: asyncio.Future[None] | None = None
        self.acquiring: asyncio.Future[_Holding | None] | None = None  # outlives a cancelled gate
        self.cleared = False  # deleteWebhook went through during this holding
        self.method: Any = None  # aiogram's GetUpdates object: its offset is what we have handed on

    @property
    def offset(self) -> int | None:
        return None if self.method is None else self.method.offset  # type: ignore[no-any-return]

    async def gate(self, make_request: Any, bot: Bot, method: Any) -> Any:
        """The session middleware: a getUpdates goes out only inside the lease; others pass."""
        if not isinstance(method, self.get_updates_type) or _own_call.get():
            return await make_request(bot, method)
        from aiogram.exceptions import TelegramAPIError, TelegramConflictError, TelegramRetryAfter

        self.method = method
        p, seen, loop = self.policy, self.seen, asyncio.get_running_loop()
        while True:
            holding = await self._held()
            room = holding.valid_until - p.margin - loop.time()
            timeout = int(min(p.poll_timeout, room))
            offset = self.offset
            if timeout < MIN_POLL_TIMEOUT:
                if (
                    offset is not None
                    and offset != seen.acked
                    and room > 0
                    and seen.bump_free(offset, loop.time(), room, p.margin)
                ):
                    await asyncio.sleep(min(room, await self._confirm(offset)))  # while the lease covers it
                    continue
                if room <= 0:
                    log.warning("%s: lease expires without a renewal; stopped polling", p.owner)
                    self._drop()
                    continue
                holding.changed.clear()
                await first(self.stop.wait(), holding.changed.wait(), timeout=room)
                continue
            acked, seen.acked = seen.acked, offset  # a poll on its way confirms at arrival...
            seen.sent(offset, loop.time())
            method.timeout = timeout
            poll = asyncio.ensure_future(make_request(bot, method))
            try:
                await first(poll, self.stop.wait(), _until_lost(holding))
            except asyncio.CancelledError:
                poll.cancel()  # aiogram stops polling
                raise
            if not poll.done():
                poll.cancel()  # the server keeps it at most `timeout` s: inside the lease
                continue
            try:
                updates = poll.result()
            except TelegramConflictError:
                log.error("409 while holding the lease: someone polls without it")
                await asyncio.sleep(1)
                continue
            except TelegramRetryAfter as exc:
                seen.acked = acked  # ...unless Telegram refused it
                await asyncio.sleep(exc.retry_after)
                continue
            except TelegramAPIError as exc:  # 5xx, network errors, timeouts
                seen.acked = acked
                log.warning("getUpdates failed (%s); retrying", exc)
                await asyncio.sleep(1)
                continue
            if loop.time() >= holding.valid_until - p.margin and updates:
                log.warning("%s: a batch came back after the lease ran out (paused?); "
                            "leaving it to the next holder", p.owner)  # fmt: skip
                continue
            return updates

    async def _held(self) -> _Holding:
        """The holding to poll under, once the webhook is gone and any quiet period is over.
        Once stopping, it never returns: ``dp.stop_polling()`` cancels the polling task."""
        loop = asyncio.get_running_loop()
        while True:
            if self.stop.is_set():
                await asyncio.get_running_loop().create_future()  # cancelled by stop_polling
            holding = self.holding
            if holding is None:
                if self.acquiring is None:
                    self.acquiring = asyncio.ensure_future(self.policy._acquire(self.stop))
                got = await asyncio.shield(self.acquiring)
                self.acquiring = None
                if got is not None:
                    self._take(got)
                continue
            if holding.lost:
                self._drop()
            elif not self.cleared:
                self.cleared = await self._clear_webhook()
                if not self.cleared:
                    await first(self.stop.wait(), _until_lost(holding), timeout=1)
            elif loop.time() < holding.quiet_until:
                await first(self.stop.wait(), _until_lost(holding), timeout=holding.quiet_until - loop.time())
            else:
                return holding

    def _take(self, holding: _Holding) -> None:
        self.holding, self.cleared = holding, False
        self.renewer = asyncio.ensure_future(self.policy._renew(holding))

    def _drop(self) -> None:
        """The lease is lost or ran out: nothing to confirm (no room) and nothing to release."""
        offset = self.offset
        if (
            offset is not None
            and offset != self.seen.acked
            and self.holding is not None
            and not self.holding.lost
        ):
            log.warning("could not confirm the last batch before the lease ended: it will be delivered again")
        if self.renewer is not None:
            self.renewer.cancel()
        self.holding = self.renewer = None

    async def leave(self) -> None:
        """At stop: confirm the last batch while the lease lasts, then release it (as the PTB lease)."""
        p, loop = self.policy, asyncio.get_running_loop()
        if self.acquiring is not None:  # stopped while a store call was out: it may have granted
            got = await self.acquiring
            self.acquiring = None
            if got is not None:
                self._take(got)
        holding = self.holding
        if holding is None:
            return
        try:
            await p._confirm_before_leaving(self._confirm, holding, self.offset, self.seen)
        finally:
            if self.renewer is not None:
                self.renewer.cancel()
            if holding.quiet_until <= loop.time() < holding.valid_until - p.margin and not holding.lost:
                await p._store(p.store.release(p.key, p.owner))  # "ended": trusted by the next holder
                log.info("%s released the lease", p.owner)
            self.holding = self.renewer = None

    async def _confirm(self, offset: int) -> float:
        """getUpdates(offset, timeout=0): Telegram forgets everything below ``offset``.
        Returns how long to wait before trying again (0 when it went through)."""
        from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter

        self.seen.sent(offset, asyncio.get_running_loop().time())
        token = _own_call.set(True)
        try:
            await self.bot(self.get_updates_type(offset=offset, timeout=0))
        except TelegramRetryAfter as exc:
            log.warning("could not confirm the last batch yet (%s)", exc)
            return float(exc.retry_after)
        except TelegramAPIError as exc:
            log.warning("could not confirm the last batch yet (%s)", exc)
            return 1.0
        finally:
            _own_call.reset(token)
        self.seen.acked = offset
        return 0.0

    async def _clear_webhook(self) -> bool:
        """deleteWebhook; a Telegram error (a 429 burst, a 5xx) is waited out, not fatal."""
        from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter

        try:
            await self.bot.delete_webhook()
            return True
        except TelegramRetryAfter as exc:
            log.warning("deleteWebhook throttled (%s); retrying", exc)
            await asyncio.sleep(exc.retry_after)
        except TelegramAPIError as exc:
            log.warning("deleteWebhook failed (%s); retrying", exc)
        return False


async def _get_me(bot: Bot, stop: asyncio.Event) -> bool:
    """getMe until it works (``bot.me()`` caches it for ``_polling``): a 429 burst or a 5xx at
    start-up must not end the process, as aiogram's own ``_polling`` would."""
    from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError

    while not stop.is_set():
        try:
            await bot.me()
            return True
        except TelegramRetryAfter as exc:
            wait = float(exc.retry_after)
        except (TelegramNetworkError, TelegramServerError) as exc:
            wait = 1.0
            log.warning("start-up: getMe failed (%s); retrying in %g s", exc, wait)
        await first(stop.wait(), timeout=wait)
    return False


async def _stop_polling(dp: Dispatcher, polling: asyncio.Future[None]) -> None:
    """``dp.stop_polling()``, retried until polling has started (before, it raises RuntimeError)."""
    while not polling.done():
        stopping = asyncio.ensure_future(dp.stop_polling())
        await asyncio.wait([stopping, polling], return_when=asyncio.FIRST_COMPLETED)
        if not stopping.done():
            stopping.cancel()  # polling ended by itself
        elif isinstance(stopping.exception(), RuntimeError):  # "Polling is not started" yet
            await asyncio.sleep(0.01)
        else:
            return


async def _handlers_done(dp: Dispatcher) -> None:
    """Let the handlers of updates already taken finish: ``start_polling`` runs each as a task
    (``handle_as_tasks``) and does not wait for them, and the process is about to end."""
    tasks = list(getattr(dp, "_handle_update_tasks", ()))
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
