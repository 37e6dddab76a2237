"""``delay-probe-backoff``: the fix shipped after the incident (docs/incident.md), faithfully.

1. A singleton lock, host-local as shipped (``HostLock`` in ``lock_dir``); if another
   process on this host holds it, exit gracefully.
2. A start-up delay (10 s; was 3 s).
3. A final check: getWebhookInfo (a webhook URL counts as a conflict), then a probe
   getUpdates "to detect an active poller"; a conflict means a graceful exit.
4. safe_start_polling: start polling; on a Conflict stop, wait ``(attempt + 1) * 5`` s
   and start again, 5 attempts in all; then exit gracefully.
5. A graceful exit stops the bot and ends the process with code 0.

Where the report is vague, the most plausible reading is the default and the
alternatives are parameters:

- The probe is ``getUpdates(timeout=1, limit=1)`` with no offset: a probe that waits
  a moment is the only kind that could ever see a 409 (a ``timeout=0`` call answers at
  once and never touches the slot, docs/telegram-rules.md §4.3). It is also a long poll
  that kicks a live poller (§4.1). ``probe_timeout=0`` and ``probe_offset`` (e.g. -1,
  which deletes all but the newest update, §3.3) are the alternatives.
- A conflict after polling started is seen by PTB's ``error_callback``
  (``detect="error_callback"``). ``detect="start_only"`` is the literal reading of a
  try/except around ``start_polling``, which never sees a 409 (PTB retries it itself),
  so after start it behaves like the naive bot.
- Attempts are counted over the process's life; ``reset_after`` (seconds of polling
  without a conflict) resets them, if given.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .base import first, log, shut_down, stop_event
from .errors import Conflict
from .lock import HostLock

if TYPE_CHECKING:
    from telegram.ext import Application


@dataclass(frozen=True)
class DelayProbeBackoff:
    lock_dir: str | None = None  # None: the system temp dir, like the shipped code
    lock_name: str = "telegram_bot.lock"
    delay: float = 10.0
    check_webhook: bool = True
    probe: bool = True
    probe_timeout: int = 1
    probe_limit: int = 1
    probe_offset: int | None = None
    attempts: int = 5
    wait_step: float = 5.0  # wait (attempt + 1) * wait_step after the attempt-th conflict
    detect: Literal["error_callback", "start_only"] = "error_callback"
    reset_after: float | None = None
    poll_timeout: int = 10
    exit_code: int = 0

    async def __call__(self, app: Application) -> None:  # type: ignore[type-arg]
        stop = stop_event()
        lock = HostLock(f"{self.lock_dir or tempfile.gettempdir()}/{self.lock_name}")
        if not lock.acquire():
            log.warning("another instance holds %s on this host; exiting", lock.path)
            return self._leave()
        await app.initialize()
        try:
            await first(stop.wait(), timeout=self.delay)
            if stop.is_set():
                return None
            if await self._conflict_detected(app):
                log.warning("final check found a conflict; exiting gracefully")
                return self._leave()
            await self._safe_start_polling(app, stop)
        finally:
            await shut_down(app)
        return self._leave() if not stop.is_set() else None

    async def _conflict_detected(self, app: Application) -> bool:  # type: ignore[type-arg]
        if self.check_webhook and (await app.bot.get_webhook_info()).url:
            return True
        if self.probe:
            try:
                await app.bot.get_updates(offset=self.probe_offset, limit=self.probe_limit, timeout=self.probe_timeout)
            except Conflict:
                return True
        return False

    async def _safe_start_polling(self, app: Application, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
        conflicted = asyncio.Event()

        def error_callback(exc: Exception) -> None:
            if isinstance(exc, Conflict) and self.detect == "error_callback":
                conflicted.set()
            else:
                app.create_task(app.process_error(error=exc, update=None))

        await app.start()
        attempt = 0
        while True:
            conflicted.clear()
            started = asyncio.get_running_loop().time()
            try:
                await app.updater.start_polling(timeout=self.poll_timeout, error_callback=error_callback)  # type: ignore[union-attr]
            except Conflict:
                conflicted.set()
            await first(stop.wait(), conflicted.wait())
            if stop.is_set():
                return
            await app.updater.stop()  # type: ignore[union-attr]
            if self.reset_after is not None and asyncio.get_running_loop().time() - started >= self.reset_after:
                attempt = 0
            if attempt + 1 >= self.attempts:
                log.warning("409 Conflict on attempt %d of %d; giving up gracefully", attempt + 1, self.attempts)
                return
            wait = (attempt + 1) * self.wait_step
            log.warning("409 Conflict on attempt %d of %d; retrying in %g s", attempt + 1, self.attempts, wait)
            attempt += 1
            await first(stop.wait(), timeout=wait)
            if stop.is_set():
                return

    def _leave(self) -> None:
        if self.exit_code:
            raise SystemExit(self.exit_code)
        return None

