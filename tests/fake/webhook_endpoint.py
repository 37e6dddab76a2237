"""A scripted webhook for the §12 delivery tests (docs/telegram-rules.md), on virtual time.

It is handed to the fake as its deliver seam: it records each POST with the virtual time it
arrived and answers what the test says. It stands in for the bot, not for the thing under
test (the fake's delivery engine).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fake_telegram import FakeTelegram, Post
from tests.conftest import Api, run_in_process

HOOK = "https://example.com/hook"


def message(chat: int, text: str = "hi", user: int | None = None) -> dict[str, Any]:
    sender = {"id": user if user is not None else chat, "is_bot": False, "first_name": "U"}
    return {"message": {"message_id": 1, "chat": {"id": chat, "type": "private"}, "from": sender, "text": text}}


def callback(user: int) -> dict[str, Any]:
    return {"callback_query": {"id": "c1", "from": {"id": user, "is_bot": False, "first_name": "U"}, "chat_instance": "1"}}


class Endpoint:
    """A scripted webhook: ``answer(post)`` gives the outcome (or a coroutine giving it)."""

    def __init__(self, answer: Callable[[Post], Any] = lambda post: 200):
        self.answer = answer
        self.posts: list[tuple[float, Post]] = []
        self.finished: list[tuple[float, Post]] = []
        self.cancelled: list[tuple[float, Post]] = []
        self.busy = 0
        self.most_busy = 0

    async def __call__(self, post: Post) -> Any:
        loop = asyncio.get_running_loop()
        self.posts.append((loop.time(), post))
        self.busy += 1
        self.most_busy = max(self.most_busy, self.busy)
        try:
            outcome = self.answer(post)
            if asyncio.iscoroutine(outcome):
                outcome = await outcome
            self.finished.append((loop.time(), post))
            return outcome
        except asyncio.CancelledError:
            self.cancelled.append((loop.time(), post))
            raise
        finally:
            self.busy -= 1

    def times(self, update_id: int | None = None) -> list[float]:
        return [round(t, 6) for t, p in self.posts if update_id is None or p.update_id == update_id]

    def ids(self) -> list[int]:
        return [p.update_id for _, p in self.posts]


def slow(seconds: float, outcome: Any = 200) -> Callable[[Post], Any]:
    async def answer(post: Post) -> Any:
        await asyncio.sleep(seconds)
        return outcome

    return answer


def events(fake: FakeTelegram, kind: str | None = None) -> list[tuple[str, int | None]]:
    return [(e.event, e.update_id) for e in fake.log.webhook if kind is None or e.event == kind]


def simulate(scenario: Callable[[Api], Any], endpoint: Endpoint, **kwargs: Any) -> FakeTelegram:
    return run_in_process(scenario, deliver=endpoint, **kwargs)


async def info(api: Api) -> dict[str, Any]:
    return (await api.call("getWebhookInfo")).result
