"""The network between instances and the fake: latency and lost responses, seeded.

A request travels for one latency draw before the server sees it, on a server-side
timer, so it arrives even if its sender dies meanwhile; the answer travels back
for another. A dropped response reaches the server but never the client, which
gets a connection error. The client's read timeout runs from the moment it sent.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from fake_telegram import FakeTelegram
from fake_telegram.core.bot import SERVER_CONTEXT
from fake_telegram.core.log import Exchange, handling
from fake_telegram.transports.httpx import forward, parts, read_timeout, to_httpx

from .process import Instance, current


@dataclass(frozen=True)
class Network:
    latency: tuple[float, float] = (0.0, 0.0)  # one-way seconds, uniform between the two
    drop: float = 0.0  # probability that a response is lost on the way back

    def __post_init__(self) -> None:
        low, high = self.latency
        if not 0 <= low <= high:
            raise ValueError(f"network latency: expected 0 <= low <= high seconds, got {self.latency}")
        if not 0 <= self.drop <= 1:
            raise ValueError(f"network drop: expected a probability in [0, 1], got {self.drop}")

    @property
    def ideal(self) -> bool:
        return self.latency == (0.0, 0.0) and self.drop == 0.0


class Wire:
    """What carries a simulation's requests from httpx's seam (``seam.py``) to the fake."""

    def __init__(self, fake: FakeTelegram, network: Network, rng: random.Random):
        self.fake = fake
        self.network = network
        self.rng = rng
        self.freeze_before_poll: dict[str, float] = {}  # instance -> seconds, armed once
        self.freeze: Callable[[Instance, float], None] | None = None

    def _delay(self) -> float:
        low, high = self.network.latency
        return low if low == high else self.rng.uniform(low, high)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        owner = current.get()
        if owner is not None and self.freeze_before_poll and request.url.path.endswith("/getUpdates"):
            seconds = self.freeze_before_poll.pop(owner.name, None)
            if seconds is not None and self.freeze is not None:
                self.freeze(owner, seconds)  # paused after deciding to poll, before the poll leaves
                await asyncio.sleep(0)
        if self.network.ideal:
            return await forward(self.fake, request)
        loop = asyncio.get_running_loop()
        sent = loop.time()
        timeout = read_timeout(request)
        up, down, dropped = self._delay(), self._delay(), self.rng.random() < self.network.drop
        call = await parts(request)
        who, cause = (owner.name if owner is not None else None), handling.get()
        arrived: asyncio.Future[Exchange] = loop.create_future()

        def deliver() -> None:
            exchange = self.fake.receive(*call, who=who, cause=cause)
            if not arrived.done():
                arrived.set_result(exchange)

        loop.call_later(up, deliver, context=SERVER_CONTEXT)
        exchange = await asyncio.shield(arrived)
        remaining = None if timeout is None else max(0.0, sent + timeout - loop.time() - down)
        try:
            response = await exchange.reply(remaining, self.fake.clock)
        except TimeoutError:
            await asyncio.sleep(max(0.0, sent + (timeout or 0) - loop.time()))
            raise httpx.ReadTimeout(f"no answer within {timeout} s", request=request) from None
        await asyncio.sleep(down)
        if dropped:
            raise httpx.RemoteProtocolError("simbot: connection dropped before the response", request=request)
        return to_httpx(response, request)
