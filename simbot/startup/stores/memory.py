"""An in-memory lease store on the running loop's clock, with latency, outages and wipes.

All instances of a simulation share one process, so one ``MemoryStore`` object is
a store they all reach, like a Redis server. Latency and outages are injected
from a seeded PRNG and fixed windows. A *wipe* is a store that restarts empty (a
Redis crash that loses its last writes, a FLUSHALL, a failover to a replica that
lagged): every record is gone, and a request in flight at that moment gets no
answer, like one sent during an outage.
"""

from __future__ import annotations

import asyncio
import random

from .base import Grant, StoreUnavailable


class MemoryStore:
    def __init__(self, *, latency: tuple[float, float] = (0.0, 0.0), outages: list[tuple[float, float]] | None = None,
                 wipes: list[float] | None = None, timeout: float = 1.0, seed: int = 0):  # fmt: skip
        self._leases: dict[str, tuple[str, float]] = {}  # key -> (owner, expires); an expired record stays
        self.latency = latency
        self.outages = outages or []
        self.wipes = sorted(wipes or [])
        self._wiped = 0  # how many of ``wipes`` have happened
        self.timeout = timeout  # how long a client waits for a store that is down
        self.rng = random.Random(seed)

    @property
    def leases(self) -> dict[str, tuple[str, float]]:
        """The records as they are now: wipes that are due have emptied them."""
        now = self._now()
        while self._wiped < len(self.wipes) and self.wipes[self._wiped] <= now:
            self._leases.clear()
            self._wiped += 1
        return self._leases

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

    async def _request(self, act, *, answered: bool = True):  # type: ignore[no-untyped-def]
        """There, ``act`` on the records, back. A restart while the request travels loses it
        (not acted on) or its answer (acted on, then wiped): either way no answer."""
        sent = self._now()
        await self._travel()
        self._lost_in_restart(sent)
        result = act(self.leases, self._now())
        if answered:
            acted = self._now()
            await self._travel()
            self._lost_in_restart(acted)
        return result

    def _lost_in_restart(self, since: float) -> None:
        if any(since < wipe <= self._now() for wipe in self.wipes):
            raise StoreUnavailable("lease store restarted while the request was in flight")

    async def acquire(self, key: str, owner: str, ttl: float) -> Grant:
        def act(leases: dict[str, tuple[str, float]], now: float) -> Grant:
            holder = leases.get(key)
            if holder is not None and holder[1] > now and holder[0] != owner:
                return Grant.REFUSED
            leases[key] = (owner, now + ttl)
            return Grant.FRESH if holder is None else Grant.CLEAN

        return await self._request(act)

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        def act(leases: dict[str, tuple[str, float]], now: float) -> bool:
            holder = leases.get(key)
            renewed = holder is not None and holder[0] == owner and holder[1] > now
            if renewed:
                leases[key] = (owner, now + ttl)
            return renewed

        return await self._request(act)

    async def release(self, key: str, owner: str) -> None:
        def act(leases: dict[str, tuple[str, float]], now: float) -> None:
            holder = leases.get(key)
            if holder is not None and holder[0] == owner and holder[1] > now:
                leases[key] = (owner, now)  # expired now: free, and known to be over

        await self._request(act, answered=False)  # one way, as it always was: keeps traces stable
