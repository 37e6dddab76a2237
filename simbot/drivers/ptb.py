"""python-telegram-bot 22, run the way ``Application.run_polling`` runs it.

``run_polling`` owns its event loop, so inside a simulation (one loop shared by
every instance) the same steps run from an async entry point: signal handlers
for SIGINT/SIGTERM/SIGABRT, initialize (getMe), ``Updater.start_polling`` with
its defaults (deleteWebhook, then getUpdates with timeout 10, retry forever with
PTB's 1 s ×1.5 backoff), ``Application.start``; on a stop signal, PTB's own
shutdown order: ``Updater.stop`` (with its confirming getUpdates), ``stop``,
``shutdown``. All of that is PTB's code; only the loop plumbing is ours.
"""

from __future__ import annotations

import asyncio
import signal

from telegram.ext import Application, ApplicationBuilder

from ..sim.process import InstanceContext
from .policies import with_policy, with_startup  # their home; re-exported for older imports


def build(info: InstanceContext) -> Application:  # type: ignore[type-arg]
    """A default Application, nothing added: the harness sees handled updates in PTB itself (``instrument``)."""
    return ApplicationBuilder().token(info.env["TELEGRAM_BOT_TOKEN"]).build()


async def run_polling(app: Application) -> None:  # type: ignore[type-arg]
    """What ``app.run_polling()`` does, as a coroutine: the ``naive`` start-up policy."""
    from ..startup import Naive

    await Naive()(app)


async def naive(info: InstanceContext) -> None:
    """The default PTB bot: polling with every framework default."""
    await run_polling(build(info))


async def well_behaved(info: InstanceContext, stop_after: float = 1.0) -> None:
    """docs/platforms.md §5's "well-behaved" bot: polls with PTB defaults, exits 1 s after a stop signal."""
    loop = asyncio.get_running_loop()

    def leave() -> None:
        loop.call_later(stop_after, _exit)

    app = build(info)
    await app.initialize()
    await app.updater.start_polling()  # type: ignore[union-attr]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGABRT):
        loop.add_signal_handler(sig, leave)
    await asyncio.Event().wait()


def _exit() -> None:
    raise SystemExit(0)


__all__ = ["build", "naive", "run_polling", "well_behaved", "with_policy", "with_startup"]
