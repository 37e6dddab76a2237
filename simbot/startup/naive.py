"""What people do without thinking about deploys, and the common first "fix"."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import first, log, shut_down, stop_event
from .errors import Conflict

if TYPE_CHECKING:
    from telegram.ext import Application


@dataclass(frozen=True)
class Naive:
    """PTB's defaults: poll, and on a 409 retry for ever with PTB's own backoff (1 s ×1.5, ≤ 30 s)."""

    poll_timeout: int = 10

    async def __call__(self, app: Application) -> None:  # type: ignore[type-arg]
        stop = stop_event()

        def error_callback(exc: Exception) -> None:  # run_polling's: errors go to the handlers
            app.create_task(app.process_error(error=exc, update=None))

        await app.initialize()
        try:
            await app.updater.start_polling(timeout=self.poll_timeout, error_callback=error_callback)  # type: ignore[union-attr]
            await app.start()
            await stop.wait()
        finally:
            await shut_down(app)


@dataclass(frozen=True)
class ExitOnConflict:
    """Exit non-zero on the first 409, so the platform restarts the process.

    Under a restart policy this loops (Docker, Kubernetes CrashLoopBackOff, Heroku
    cool-off); under on-failure with exit 0 it would vanish (docs/platforms.md §3.6).
    """

    poll_timeout: int = 10
    exit_code: int = 1

    async def __call__(self, app: Application) -> None:  # type: ignore[type-arg]
        stop = stop_event()
        conflicted = asyncio.Event()

        def error_callback(exc: Exception) -> None:
            if isinstance(exc, Conflict):
                log.error("409 Conflict: another instance is polling; exiting with %d", self.exit_code)
                conflicted.set()

        await app.initialize()
        try:
            await app.updater.start_polling(timeout=self.poll_timeout, error_callback=error_callback)  # type: ignore[union-attr]
            await app.start()
            await first(stop.wait(), conflicted.wait())
        finally:
            await shut_down(app)
        if conflicted.is_set():
            raise SystemExit(self.exit_code)
