"""pytest fixtures: a fake Telegram server and every httpx client routed to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from fake_telegram import FakeTelegram, mocked


@pytest.fixture
def fake_telegram() -> FakeTelegram:
    """A fresh fake Bot API server (seed 0) on the running loop's clock."""
    return FakeTelegram(seed=0)


@pytest.fixture
def telegram_mock(fake_telegram: FakeTelegram) -> Iterator[respx.MockRouter]:
    """Route https://api.telegram.org to ``fake_telegram``; nothing else may be requested."""
    with mocked(fake_telegram) as router:
        yield router
