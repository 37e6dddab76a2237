"""The pytest plugin's fixtures, used the way a user's test would."""

from __future__ import annotations

import httpx
import pytest
import respx

from fake_telegram import FakeTelegram
from simbot.sim import run
from tests.conftest import TOKEN


def test_telegram_mock_routes_every_httpx_client_to_the_fake(fake_telegram: FakeTelegram, telegram_mock: respx.MockRouter):
    async def main() -> dict:
        fake_telegram.push(TOKEN, {"poll": {"id": "p"}})
        async with httpx.AsyncClient() as client:
            reply = await client.post(f"https://api.telegram.org/bot{TOKEN}/getUpdates")
        return reply.json()

    assert len(run(main())["result"]) == 1
    assert [e.method for e in fake_telegram.log] == ["getUpdates"]


def test_telegram_mock_lets_nothing_reach_the_network(telegram_mock: respx.MockRouter):
    with pytest.raises(respx.models.AllMockedAssertionError):
        httpx.get("https://example.com/")
