"""Shared test support: a Bot API client that runs over either transport.

A conformance test is written once as ``async def scenario(api)`` and runs twice:
in process on the virtual-time loop (httpx + FakeTransport), and over real HTTP
against uvicorn on 127.0.0.1 in real time.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, settings

from fake_telegram import FakeTelegram, FakeTransport, asgi_app
from simbot.sim import run
from tests.tokens import OTHER_TOKEN as OTHER_TOKEN  # re-exported: tests import it from here
from tests.tokens import TOKEN

settings.register_profile(
    "ci", derandomize=True, max_examples=150, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("nightly", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))



@dataclass
class Reply:
    status: int
    body: Any  # parsed JSON, or None for a bare status
    raw: bytes
    headers: httpx.Headers
    sent_at: float
    answered_at: float

    @property
    def waited(self) -> float:
        return self.answered_at - self.sent_at

    @property
    def description(self) -> str | None:
        return self.body.get("description") if isinstance(self.body, dict) else None

    @property
    def result(self) -> Any:
        assert isinstance(self.body, dict) and self.body.get("ok"), self.body
        return self.body["result"]


class Api:
    """A thin Bot API client; ``now`` is the transport's clock (virtual or real)."""

    def __init__(self, client: httpx.AsyncClient, fake: FakeTelegram, now: Callable[[], float]):
        self.client = client
        self.fake = fake
        self.now = now

    async def call(self, method: str, *, token: str = TOKEN, verb: str = "POST", **params: Any) -> Reply:
        fields = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
        if verb == "GET":
            request = self.client.build_request("GET", f"/bot{token}/{method}", params=fields)
        else:
            request = self.client.build_request("POST", f"/bot{token}/{method}", data=fields)
        return await self.send(request)

    async def send(self, request: httpx.Request) -> Reply:
        sent = self.now()
        response = await self.client.send(request)
        raw = await response.aread()
        body = json.loads(raw) if raw else None
        return Reply(response.status_code, body, raw, response.headers, sent, self.now())

    def start(self, method: str, **params: Any) -> asyncio.Task[Reply]:
        """Send without waiting: for polls that must be pending while something else happens."""
        return asyncio.ensure_future(self.call(method, **params))

    async def settle(self) -> None:
        """Let started requests reach the server (a few loop turns; real HTTP needs a moment)."""
        for _ in range(5):
            await asyncio.sleep(0)
        if not isinstance(asyncio.get_running_loop(), _virtual_loop_type()):
            await asyncio.sleep(0.05)

    async def push(self, *updates: dict[str, Any], token: str = TOKEN) -> list[int | None]:
        response = await self.client.post(f"/_fake/bot{token}/updates", json=list(updates))
        body = response.json()
        assert body["ok"], body
        return body["result"]

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def unix(self) -> int:
        return int(self.fake.epoch + self.fake.clock())


def _virtual_loop_type() -> type:
    from simbot.sim import VirtualLoop

    return VirtualLoop


Scenario = Callable[[Api], Awaitable[None]]


def run_in_process(scenario: Scenario, **fake_kwargs: Any) -> FakeTelegram:
    fake = FakeTelegram(**fake_kwargs)

    async def main() -> None:
        transport = FakeTransport(fake)
        async with httpx.AsyncClient(transport=transport, base_url="https://api.telegram.org", timeout=60) as client:
            await scenario(Api(client, fake, asyncio.get_running_loop().time))

    run(main(), horizon=30 * 86400)
    return fake


def run_over_http(scenario: Scenario, **fake_kwargs: Any) -> FakeTelegram:
    fake = FakeTelegram(clock=time.monotonic, epoch=time.time() - time.monotonic(), **fake_kwargs)

    async def main() -> None:
        config = uvicorn.Config(asgi_app(fake), host="127.0.0.1", port=0, lifespan="off", log_level="error")
        server = uvicorn.Server(config)
        config.timeout_graceful_shutdown = 0.1
        serving = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                await scenario(Api(client, fake, time.monotonic))
        finally:
            server.should_exit = True
            await serving

    asyncio.run(main())
    return fake


@pytest.fixture(params=["in_process", "http"])
def over(request: pytest.FixtureRequest) -> Callable[..., FakeTelegram]:
    """Run a conformance scenario over one transport: ``over(scenario, **FakeTelegram kwargs)``."""
    return run_in_process if request.param == "in_process" else run_over_http


@pytest.fixture
def in_process() -> Callable[..., FakeTelegram]:
    return run_in_process
