"""Lease stores: Redis against a real redis-server, the file store, the memory store."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from simbot.sim import run as virtual
from simbot.startup import FileStore, MemoryStore, StoreUnavailable
from simbot.startup.stores.redis import RedisStore
from tests.clients.support import free_port

_keys = itertools.count()


async def contract(store, ttl: float, wait) -> None:  # type: ignore[no-untyped-def]
    """What every store must do; ``wait`` lets ``ttl`` pass in the store's own time."""
    key = f"k{next(_keys)}"
    assert await store.acquire(key, "a", ttl)
    assert not await store.acquire(key, "b", ttl)  # taken
    assert await store.acquire(key, "a", ttl)  # re-entrant for its owner
    assert await store.renew(key, "a", ttl) and not await store.renew(key, "b", ttl)
    await store.release(key, "b")  # not b's to release
    assert not await store.acquire(key, "b", ttl)
    await store.release(key, "a")
    assert await store.acquire(key, "b", ttl)  # released: free at once
    await wait(ttl * 1.5)
    assert not await store.renew(key, "b", ttl)  # expired: a stalled holder cannot renew
    assert await store.acquire(key, "a", ttl)  # ... and someone else takes it
    await store.release(key, "b")  # a late release by the stalled holder changes nothing
    assert not await store.acquire(key, "b", ttl)


def test_redis_store_keeps_the_contract_on_a_real_server(redis_url: str):
    async def main() -> None:
        store = RedisStore.from_url(redis_url)
        try:
            await contract(store, 0.3, asyncio.sleep)
        finally:
            await store.client.aclose()

    asyncio.run(main())


def test_redis_store_expiry_is_the_servers_and_a_stalled_holder_loses_the_lease(redis_url: str):
    async def main() -> None:
        store = RedisStore.from_url(redis_url)
        try:
            assert await store.acquire("stall", "holder", 0.3)
            ttl_ms = await store.client.pttl("simbot:lease:stall")
            assert 0 < ttl_ms <= 300
            await asyncio.sleep(0.2)
            assert await store.renew("stall", "holder", 0.3)  # renewed in time: 300 ms again
            assert await store.client.pttl("simbot:lease:stall") > 200
            await asyncio.sleep(0.5)  # the holder stalls past its lease
            assert await store.acquire("stall", "successor", 5)
            assert not await store.renew("stall", "holder", 0.3)
            assert await store.client.get("simbot:lease:stall") == "successor"
        finally:
            await store.client.aclose()

    asyncio.run(main())


def test_redis_store_that_is_down_raises_store_unavailable():
    async def main() -> None:
        store = RedisStore.from_url(f"redis://127.0.0.1:{free_port()}/0", timeout=0.2)
        try:
            with pytest.raises(StoreUnavailable):
                await store.acquire("k", "a", 1)
        finally:
            await store.client.aclose()

    asyncio.run(main())


def test_file_store_keeps_the_contract(tmp_path):
    asyncio.run(contract(FileStore(tmp_path / "lease.json"), 0.2, asyncio.sleep))


def test_file_store_reads_a_torn_file_as_empty(tmp_path):
    path = tmp_path / "lease.json"
    path.write_text("{not json")
    assert asyncio.run(FileStore(path).acquire("k", "a", 1))


def test_memory_store_keeps_the_contract_in_virtual_time():
    virtual(contract(MemoryStore(), 10.0, asyncio.sleep))


def test_memory_store_latency_and_outages():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        store = MemoryStore(latency=(0.5, 0.5), outages=[(10.0, 20.0)], timeout=1.0)
        assert await store.acquire("k", "a", 30) and loop.time() == 1.0  # there and back
        await asyncio.sleep(9)
        with pytest.raises(StoreUnavailable):
            await store.renew("k", "a", 30)
        assert loop.time() == 11.0  # the client waited its timeout
        await asyncio.sleep(10)
        assert await store.renew("k", "a", 30)

    virtual(main())
