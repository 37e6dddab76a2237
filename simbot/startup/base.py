"""The contract every start-up policy keeps, ours and yours.

A start-up is an async callable taking a python-telegram-bot 22 ``Application``
(built, not initialized). It polls until the process should end, then returns
(exit 0) or raises ``SystemExit(n)``. It registers its own stop signals with the
running loop's ``add_signal_handler``. The same code runs in production
(``asyncio.run(simbot.startup.run(app, policy))``) and in the simulator.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telegram.ext import Application


Startup = Callable[["Application"], Awaitable[None]]  # type: ignore[type-arg]
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGABRT)
log = logging.getLogger("simbot.startup")


async def run(app: Application, policy: Startup) -> None:  # type: ignore[type-arg]
    """Run ``app`` under ``policy``: returns for exit 0, raises SystemExit otherwise."""
    await policy(app)


def stop_event() -> asyncio.Event:
    """An event set by SIGINT, SIGTERM or SIGABRT (run_polling's stop signals)."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, event.set)
    return event


async def shut_down(app: Application) -> None:  # type: ignore[type-arg]
    """PTB's own shutdown order, as run_polling does it."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    if app.post_stop:
        await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)


async def first(*awaitables: Awaitable[Any], timeout: float | None = None) -> None:
    """Until the first awaitable finishes or ``timeout`` passes.

    Futures passed in are left running (the caller decides about them); coroutines
    are wrapped in tasks here, and those are cancelled on the way out.
    """
    given = [a for a in awaitables if isinstance(a, asyncio.Future)]
    created = [asyncio.ensure_future(a) for a in awaitables if not isinstance(a, asyncio.Future)]
    try:
        await asyncio.wait([*given, *created], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in created:
            task.cancel()
