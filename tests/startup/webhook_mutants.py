"""The webhook policies with one safety rule taken out each: entry points for rule-removal tests.

Each mutant is what users commonly write instead (docs/startup.md, "Webhook bots across deploys"): drop_pending_updates at
start, deleteWebhook at shutdown, a secret made per start, setWebhook on every start with a
429 left to crash the process (PTB's own bootstrap_retries=0), no memory of update ids.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

# aiogram imported before a run, as the policy driver does: the simulation then reaches aiogram's session
from simbot.drivers import aiogram as aiogram_driver
from simbot.drivers import ptb as ptb_driver
from simbot.drivers.policies import WEBHOOK_SECRET
from simbot.sim.process import InstanceContext
from simbot.startup.aiogram_webhook import AiogramWebhook
from simbot.startup.webhook import Settings, Webhook, WebhookPolicy


def _fitted(cls: type, info: InstanceContext, **overrides: Any) -> Any:
    return cls(url=info.env["WEBHOOK_URL"], secret=info.env.get("WEBHOOK_SECRET", WEBHOOK_SECRET),
               port=int(info.env["PORT"]), **overrides)  # fmt: skip


# -- drop_pending_updates at every start -------------------------------------------------


class _Drop:
    async def _set_ptb(self, app: Any, s: Settings) -> None:
        await app.bot.set_webhook(url=s.url, secret_token=s.secret, drop_pending_updates=True)

    async def _set(self, bot: Any, s: Settings) -> None:
        await bot.set_webhook(s.url, secret_token=s.secret, drop_pending_updates=True)


@dataclass(frozen=True)
class DropPTB(_Drop, WebhookPolicy):  # type: ignore[misc]
    pass


@dataclass(frozen=True)
class DropAiogram(_Drop, AiogramWebhook):  # type: ignore[misc]
    pass


# -- deleteWebhook at shutdown --------------------------------------------------------------


@dataclass(frozen=True)
class DeletePTB(WebhookPolicy):
    async def __call__(self, app: Any) -> None:
        async def delete(app: Any) -> None:  # PTB's post_stop: after the updates, before the bot shuts down
            await app.bot.delete_webhook()

        app.post_stop = delete
        await super().__call__(app)


@dataclass(frozen=True)
class DeleteAiogram(AiogramWebhook):
    async def __call__(self, dp: Any, bot: Any) -> None:
        async def delete() -> None:  # aiogram v2's example, in a v3 shutdown hook
            await bot.delete_webhook()

        dp.shutdown.register(delete)
        await super().__call__(dp, bot)


# -- a new secret at every start ------------------------------------------------------------


class _NewSecret:
    def settings(self) -> Settings:
        fixed = Webhook.settings(self)  # type: ignore[arg-type]
        started = int(asyncio.get_running_loop().time() * 1000)  # differs between starts, same in every replay
        return replace(fixed, secret=f"s{started}")


@dataclass(frozen=True)
class NewSecretPTB(_NewSecret, WebhookPolicy):  # type: ignore[misc]
    pass


@dataclass(frozen=True)
class NewSecretAiogram(_NewSecret, AiogramWebhook):  # type: ignore[misc]
    pass


# -- setWebhook on every start, a 429 ends the process -------------------------------------


class _SetAlways:
    async def ensure(self, url: str, write: Any, stop: asyncio.Event) -> bool:
        await write()  # raises on a 429 (Throttled): the process crashes, as run_webhook's does
        return True


@dataclass(frozen=True)
class SetAlwaysPTB(_SetAlways, WebhookPolicy):  # type: ignore[misc]
    pass


@dataclass(frozen=True)
class SetAlwaysAiogram(_SetAlways, AiogramWebhook):  # type: ignore[misc]
    pass


# -- no memory of update ids (Seen(0) forgets each id at once) ------------------------------


# -- entry points (Bot(entry="tests.startup.webhook_mutants:NAME")) ------------------------


async def _ptb(cls: type, info: InstanceContext) -> None:
    await _fitted(cls, info)(ptb_driver.build(info))


async def _aiogram(cls: type, info: InstanceContext) -> None:
    await _fitted(cls, info)(*aiogram_driver.build(info))


async def drop_ptb(info: InstanceContext) -> None:
    await _ptb(DropPTB, info)


async def drop_aiogram(info: InstanceContext) -> None:
    await _aiogram(DropAiogram, info)


async def delete_ptb(info: InstanceContext) -> None:
    await _ptb(DeletePTB, info)


async def delete_aiogram(info: InstanceContext) -> None:
    await _aiogram(DeleteAiogram, info)


async def new_secret_ptb(info: InstanceContext) -> None:
    await _ptb(NewSecretPTB, info)


async def new_secret_aiogram(info: InstanceContext) -> None:
    await _aiogram(NewSecretAiogram, info)


async def set_always_ptb(info: InstanceContext) -> None:
    await _ptb(SetAlwaysPTB, info)


async def set_always_aiogram(info: InstanceContext) -> None:
    await _aiogram(SetAlwaysAiogram, info)


async def forgets_ptb(info: InstanceContext) -> None:
    await _ptb(ForgetsPTB, info)


async def forgets_aiogram(info: InstanceContext) -> None:
    await _aiogram(ForgetsAiogram, info)


@dataclass(frozen=True)
class ForgetsPTB(WebhookPolicy):
    remember: int = 0


@dataclass(frozen=True)
class ForgetsAiogram(AiogramWebhook):
    remember: int = 0



# -- aiogram: accepted updates finished at SIGTERM (a handler that takes 20 s) ---------------------------------


def _slow_dispatcher(info: InstanceContext) -> tuple[Any, Any]:
    from aiogram.types import Message

    dp, bot = aiogram_driver.build(info)

    @dp.message()
    async def slow(message: Message) -> None:
        await asyncio.sleep(20)  # a slow API call, a database
        await message.answer("done")

    return dp, bot


class _PatchedHandler(AiogramWebhook):
    """The aiogram policy with its request handler changed by ``patch`` (module-level, for one run)."""

    async def __call__(self, dp: Any, bot: Any) -> None:
        from simbot.startup import aiogram_webhook

        real = aiogram_webhook._handler

        def handler(dp: Any, bot: Any, secret: str, seen: Any, stop: asyncio.Event) -> Any:
            return self.patch(real, dp, bot, secret, seen, stop)

        aiogram_webhook._handler = handler  # type: ignore[assignment]
        try:
            await super().__call__(dp, bot)
        finally:
            aiogram_webhook._handler = real  # type: ignore[assignment]

    def patch(self, real: Any, *args: Any) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class NoDrainAiogram(_PatchedHandler):
    def patch(self, real: Any, *args: Any) -> Any:
        h = real(*args)
        h.drain = _nothing  # what run_app does: the background tasks are left to be cancelled
        return h


@dataclass(frozen=True)
class TakesPostsWhenStoppingAiogram(_PatchedHandler):
    def patch(self, real: Any, dp: Any, bot: Any, secret: str, seen: Any, stop: asyncio.Event) -> Any:
        return real(dp, bot, secret, seen, asyncio.Event())  # never sees the stop signal


async def takes_posts_when_stopping_aiogram(info: InstanceContext) -> None:
    await _aiogram(TakesPostsWhenStoppingAiogram, info)


async def _nothing() -> None:
    return None


async def slow_aiogram(info: InstanceContext) -> None:
    await _fitted(AiogramWebhook, info)(*_slow_dispatcher(info))


async def slow_no_drain_aiogram(info: InstanceContext) -> None:
    await _fitted(NoDrainAiogram, info)(*_slow_dispatcher(info))
