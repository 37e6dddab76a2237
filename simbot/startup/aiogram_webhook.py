"""``aiogram-webhook``: the webhook rules of ``webhook.py`` for an aiogram 3 ``Dispatcher``.

Same rules (read ``webhook.py``'s docstring): a fixed URL and secret from the environment, no
drop, no deleteWebhook ever, setWebhook at every start (a no-op at Telegram), 429 waited out,
a re-sent update handled once per process, 0.0.0.0 and the platform's PORT.

What differs, and why: aiogram's ``SimpleRequestHandler`` answers 200 at once and handles each
update in a background task, and aiohttp cancels every task left when ``run_app`` ends, so an
update accepted just before SIGTERM would be lost (aiohttp's run_app cancels the tasks left at exit). The policy therefore
runs the aiohttp server itself: at a stop signal it stops listening, answers 503 to any POST
still read after it (a keep-alive connection outlives the listener; a process frozen past the
platform's router timeout would otherwise handle, on waking, an update Telegram has already
re-sent to the new instance: measured on heroku_restart), waits for the background handlers
of accepted updates, then runs the Dispatcher's shutdown hooks and closes the bot's session. The Dispatcher's startup hooks run before the server listens (``setup_application``);
they must not set or delete the webhook themselves.

In production::

    asyncio.run(simbot.startup.aiogram_webhook.run(dp, bot, AiogramWebhook()))

Importable without aiogram: aiogram is imported when the policy runs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .aiogram import _get_me
from .base import log, stop_event
from .webhook import Seen, Settings, Throttled, Webhook, _listed

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher


async def run(dp: Dispatcher, bot: Bot, policy: AiogramWebhook) -> None:
    """Run ``dp`` with ``bot`` under ``policy``: returns for exit 0."""
    await policy(dp, bot)


@dataclass(frozen=True)
class AiogramWebhook(Webhook):
    """The webhook rules; aiogram's Dispatcher and ``SimpleRequestHandler`` do the handling."""

    path: str = "/webhook"

    async def __call__(self, dp: Dispatcher, bot: Bot) -> None:
        from aiogram.webhook.aiohttp_server import setup_application
        from aiohttp import web

        s = self.settings()
        stop = stop_event()
        try:
            if not await _get_me(bot, stop):
                return
            handler = _handler(dp, bot, s.secret, Seen(self.remember), stop)
            app = web.Application()
            app.router.add_route("POST", s.path, handler.handle)  # not handler.register: it closes the session early
            setup_application(app, dp, bot=bot)  # the Dispatcher's startup/shutdown hooks
            runner = web.AppRunner(app, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, s.listen, s.port)
            try:
                await site.start()
                log.info("serving webhook POSTs on http://%s:%d%s", s.listen, s.port, s.path)
                if await self.ensure(s.url, lambda: self._set(bot, s), stop):
                    await stop.wait()
            finally:
                await site.stop()  # no new POSTs
                await handler.drain()  # accepted updates are handled, not cancelled
                await runner.cleanup()  # shutdown hooks
        finally:
            await bot.session.close()

    async def _set(self, bot: Bot, s: Settings) -> None:
        from aiogram.exceptions import TelegramRetryAfter

        try:
            await bot.set_webhook(s.url, secret_token=s.secret, max_connections=self.max_connections,
                                  allowed_updates=_listed(self.allowed_updates))  # fmt: skip
        except TelegramRetryAfter as exc:
            raise Throttled(float(exc.retry_after)) from None


def _handler(dp: Dispatcher, bot: Bot, secret: str, seen: Seen, stop: asyncio.Event) -> Any:
    """aiogram's ``SimpleRequestHandler`` (secret check, 200 at once, a background task per update)
    that skips an update id it has seen, refuses POSTs once stopping, and can wait for its
    background tasks."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler
    from aiohttp import web

    class OnceRequestHandler(SimpleRequestHandler):
        async def handle(self, request: web.Request) -> web.Response:
            if stop.is_set():  # a POST read after SIGTERM (a keep-alive connection outlives the listener):
                return web.Response(status=503, text="stopping")  # Telegram re-sends it to whoever is routed
            return await super().handle(request)

        async def _background_feed_update(self, bot: Bot, update: dict[str, Any]) -> None:
            uid = update.get("update_id")
            if isinstance(uid, int) and not seen.first_time(uid):
                return
            await super()._background_feed_update(bot, update)

        async def drain(self) -> None:
            while self._background_feed_update_tasks:
                await asyncio.gather(*list(self._background_feed_update_tasks), return_exceptions=True)

    return OnceRequestHandler(dispatcher=dp, bot=bot, secret_token=secret)
