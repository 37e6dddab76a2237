"""``webhook``: run a python-telegram-bot 22 webhook bot safely across deploys.

Each rule answers a deploy failure of webhook mode (docs/startup.md, "webhook"):

- **Fixed URL and secret**, read from the environment (``WEBHOOK_URL``, ``WEBHOOK_SECRET``)
  or given, never made up per start: a new secret re-sets the webhook, cuts in-flight POSTs
  and makes every instance the platform still routes to answer 403 until traffic switches.
- **Never drop pending updates**: ``drop_pending_updates`` deletes everything queued during
  the deploy, including POSTs in flight to the old instance.
- **Never delete the webhook on shutdown**: on a start-first platform the old instance stops
  after the new one set it; a delete then leaves the new one deaf.
- **Idempotent set with 429 handling**: setWebhook with the same URL, secret and
  max_connections and no drop is a no-op at Telegram ("Webhook is already set": in-flight
  POSTs, queue and backoff untouched), so every start sends it; Telegram compares the secret,
  which getWebhookInfo cannot show (skipping the call when getWebhookInfo's URL matches leaves a
  changed secret unset, and every instance deaf: measured). Every setWebhook takes Telegram's
  one-per-second slot, so replicas starting together get ``429 retry after 1``: waited out (at
  most ``max_wait`` s at a time) and retried, never a crash. Any other error is retried too
  (1 s, doubling up to ``max_wait``).
- **Each update handled once per process**: Telegram re-sends an update whose POST failed or
  timed out (a 5xx from the platform's router after 30 s on Heroku), possibly to the same process
  that is still about to handle the first copy. An update id seen before is not handed to PTB
  again (the last ``remember`` ids).
- **Listen on 0.0.0.0 and the platform's PORT** (a loopback-only server is unreachable from the
  platform's router), and serve before setting the webhook, so the first POSTs find a server.
- At SIGTERM: stop listening, then PTB's own shutdown, which handles every update already
  accepted (Application.stop waits for its update queue).

What it does not protect against: a re-sent update that lands on *another* instance (the other
process has not seen its id); updates accepted and then lost to a SIGKILL before handling
(Telegram counts them delivered); someone else changing the webhook while the bot runs (it is
checked at start only: re-setting it later would fight a newer deploy that changed it on purpose).

PTB's ``run_webhook``/``start_webhook`` always call setWebhook (and raise on a 429), so the server
is built here from PTB's own tornado classes (``telegram.ext._utils.webhookhandler``, private:
checked against python-telegram-bot 22).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import first, log, shut_down, stop_event

if TYPE_CHECKING:
    from telegram.ext import Application

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what Telegram accepts as secret_token


class Throttled(Exception):
    """Telegram answered 429: wait ``seconds``, then try again."""

    def __init__(self, seconds: float):
        super().__init__(f"retry after {seconds:g}")
        self.seconds = seconds


@dataclass(frozen=True)
class Settings:
    """What the webhook is, resolved from the policy's fields and the environment."""

    url: str  # the full URL Telegram POSTs to
    secret: str
    listen: str
    port: int
    path: str


@dataclass(frozen=True)
class Webhook:
    """The webhook rules, framework-free: ``WebhookPolicy`` serves them with python-telegram-bot,
    ``aiogram_webhook.AiogramWebhook`` with aiogram."""

    url: str | None = None  # the public base URL (env WEBHOOK_URL); ``path`` is appended
    secret: str | None = None  # fixed across deploys (env WEBHOOK_SECRET)
    path: str = "/telegram"
    port: int | None = None  # env PORT, else 8443
    listen: str = "0.0.0.0"
    allowed_updates: tuple[str, ...] | None = None  # None: leave Telegram's setting as it is
    max_connections: int = 40
    max_wait: float = 30.0  # the longest single wait before retrying setWebhook
    remember: int = 10000  # update ids kept to recognise a re-sent update

    def settings(self) -> Settings:
        """The resolved settings; a ValueError naming the variable that is missing or wrong."""
        base = self.url or os.environ.get("WEBHOOK_URL")
        if not base:
            raise ValueError("webhook: no URL: set WEBHOOK_URL (the public https address the platform gives the "
                             "service) or pass url=")  # fmt: skip
        secret = self.secret or os.environ.get("WEBHOOK_SECRET")
        if not secret:
            raise ValueError("webhook: no secret: set WEBHOOK_SECRET (fixed, the same for every deploy; 1-256 of "
                             "A-Z a-z 0-9 _ -) or pass secret=")  # fmt: skip
        if not _SECRET.fullmatch(secret):
            raise ValueError("webhook: WEBHOOK_SECRET/secret: expected 1-256 characters of A-Z a-z 0-9 _ -")
        raw_port = self.port if self.port is not None else os.environ.get("PORT", "8443")
        try:
            port = int(raw_port)
        except ValueError:
            raise ValueError(f"webhook: PORT: expected a port number, got {raw_port!r}") from None
        if not 0 < port < 65536:
            raise ValueError(f"webhook: PORT: expected 1-65535, got {port}")
        path = "/" + self.path.strip("/")
        return Settings(base.rstrip("/") + path, secret, self.listen, port, path)

    async def ensure(self, url: str, write: Callable[[], Awaitable[None]], stop: asyncio.Event) -> bool:
        """setWebhook until Telegram has taken it (True) or a stop signal came (False). ``write``
        raises ``Throttled`` for a 429 and anything else for another failure."""
        wait = 1.0
        while not stop.is_set():
            try:
                await write()
                log.info("webhook set to %s", url)
                return True
            except Throttled as exc:
                pause = min(exc.seconds, self.max_wait)
                log.warning("webhook: throttled (%s); waiting %g s", exc, pause)
            except Exception as exc:  # a 5xx, the network, a refused URL: retried, never a crash
                pause, wait = wait, min(wait * 2, self.max_wait)
                log.warning("webhook: setting it failed (%s); retrying in %g s", exc, pause)
            await first(stop.wait(), timeout=pause)
        return False


class Seen:
    """The last ``size`` update ids this process took: a re-sent update is recognised."""

    def __init__(self, size: int):
        self.size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def first_time(self, update_id: int) -> bool:
        if update_id in self._ids:
            log.warning("update %d delivered again (Telegram re-sent it); handled once already", update_id)
            return False
        self._ids[update_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return True


class _OnceQueue:
    """What PTB's webhook handler puts updates on: PTB's own queue, minus updates seen before."""

    def __init__(self, queue: asyncio.Queue[Any], seen: Seen):
        self.queue, self.seen = queue, seen

    async def put(self, update: Any) -> None:
        if self.seen.first_time(update.update_id):
            await self.queue.put(update)


@dataclass(frozen=True)
class WebhookPolicy(Webhook):
    """The webhook rules for a python-telegram-bot 22 ``Application``."""

    async def __call__(self, app: Application) -> None:  # type: ignore[type-arg]
        from telegram.ext._utils.webhookhandler import WebhookAppClass, WebhookServer

        from .lease import _initialize

        s = self.settings()
        stop = stop_event()
        if not await _initialize(app, stop):
            return
        queue = _OnceQueue(app.update_queue, Seen(self.remember))
        server = WebhookServer(s.listen, s.port, WebhookAppClass(s.path, app.bot, queue, s.secret), None)  # type: ignore[arg-type]
        try:
            await app.start()
            await server.serve_forever()
            if await self.ensure(s.url, lambda: self._set_ptb(app, s), stop):
                await stop.wait()
        finally:
            await server.shutdown()  # stop listening; PTB then handles what it accepted
            await shut_down(app)

    async def _set_ptb(self, app: Application, s: Settings) -> None:  # type: ignore[type-arg]
        from telegram.error import RetryAfter

        from .lease import _seconds

        try:
            await app.bot.set_webhook(url=s.url, secret_token=s.secret, max_connections=self.max_connections,
                                      allowed_updates=_listed(self.allowed_updates))  # fmt: skip
        except RetryAfter as exc:
            raise Throttled(_seconds(exc)) from None


def _listed(allowed: Sequence[str] | None) -> list[str] | None:
    return None if allowed is None else list(allowed)
