"""An in-memory lease store on the running loop's clock, with latency and outages.

All instances of a simulation share one process, so one ``MemoryStore`` object is
a store they all reach, like a Redis server. Latency and outages are injected
from a seeded PRNG and fixed windows.
"""

from __future__ import annotations

import asyncio
import random

from .base import StoreUnavailable


class MemoryStore:
    def __init__(self, *, latency: tuple[float, float] = (0.0, 0.0), outages: list[tuple[float, float]] | None = None,
                 timeout: float = 1.0, seed: int = 0):  # fmt: skip
        self.leases: dict[str, tuple[str, float]] = {}
        self.latency = latency
        self.outages = outages or []
        self.timeout = timeout  # how long a client waits for a store that is down
        self.rng = random.Random(seed)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def _travel(self) -> None:
        now = self._now()
        if any(start <= now < end for start, end in self.outages):
            await asyncio.sleep(self.timeout)
            raise StoreUnavailable("lease store unavailable")
        low, high = self.latency
        if high > 0:
            await asyncio.sleep(low if low == high else self.rng.uniform(low, high))

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        await self._travel()
        now = self._now()
        holder = self.leases.get(key)
        if holder is None or holder[1] <= now or holder[0] == owner:
            self.leases[key] = (owner, now + ttl)
            await self._travel()
            return True
        await self._travel()
        return False

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        await self._travel()
        now = self._now()
        holder = self.leases.get(key)
        renewed = holder is not None and holder[0] == owner and holder[1] > now
        if renewed:
            self.leases[key] = (owner, now + ttl)
        await self._travel()
        return renewed

    async def release(self, key: str, owner: str) -> None:
        await self._travel()
        holder = self.leases.get(key)
        if holder is not None and holder[0] == owner:
            del self.leases[key]
