"""Lease stores: Redis against a real redis-server, the file store, the memory store."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import pytest

from simbot.sim import run as virtual
from simbot.startup import FileStore, LeasePolicy, MemoryStore, StoreUnavailable
from simbot.startup.stores import Grant
from simbot.startup.stores.redis import RedisStore
from tests.clients.support import free_port
from tests.startup.redis_server import redis_server

_keys = itertools.count()


async def contract(store, ttl: float, wait) -> None:  # type: ignore[no-untyped-def]
    """What every store must do; ``wait`` lets ``ttl`` pass in the store's own time."""
    key = f"k{next(_keys)}"
    assert await store.acquire(key, "a", ttl) is Grant.FRESH  # no record: first use (or a store that lost it)
    assert await store.acquire(key, "b", ttl) is Grant.REFUSED  # taken
    assert await store.acquire(key, "a", ttl) is Grant.CLEAN  # re-entrant for its owner
    assert await store.renew(key, "a", ttl) and not await store.renew(key, "b", ttl)
    await store.release(key, "b")  # not b's to release
    assert not await store.acquire(key, "b", ttl)
    await store.release(key, "a")
    assert await store.acquire(key, "b", ttl) is Grant.CLEAN  # released: free at once, and known to be over
    await wait(ttl * 1.5)
    assert not await store.renew(key, "b", ttl)  # expired: a stalled holder cannot renew
    assert await store.acquire(key, "a", ttl) is Grant.CLEAN  # ... someone else takes it, and knows b's is over
    await store.release(key, "b")  # a late release by the stalled holder changes nothing
    assert not await store.acquire(key, "b", ttl)


class _SettledRedis(RedisStore):
    """The tests' redis-server has just started: every grant would count as fresh. Here it has not."""

    @staticmethod
    def restarted_within(server: dict[str, object], ttl: float) -> bool:
        return False


def test_redis_store_keeps_the_contract_on_a_real_server(redis_url: str):
    async def main() -> None:
        store = _SettledRedis.from_url(redis_url)
        try:
            await contract(store, 0.3, asyncio.sleep)
        finally:
            await store.client.aclose()

    asyncio.run(main())


def test_redis_store_expiry_is_the_servers_and_a_stalled_holder_loses_the_lease(redis_url: str):
    async def main() -> None:
        store = RedisStore.from_url(redis_url)
        try:
            async def left_ms() -> int:  # the record's expiry against Redis's clock
                seconds, micros = await store.client.time()
                return int(await store.client.hget("simbot:lease:stall", "expires")) - (seconds * 1000 + micros // 1000)

            await store.client.delete("simbot:lease:stall")
            assert await store.acquire("stall", "holder", 0.3)
            assert 0 < await left_ms() <= 300
            await asyncio.sleep(0.2)
            assert await store.renew("stall", "holder", 0.3)  # renewed in time: 300 ms again
            assert await left_ms() > 200
            await asyncio.sleep(0.5)  # the holder stalls past its lease
            assert await store.acquire("stall", "successor", 5)
            assert not await store.renew("stall", "holder", 0.3)
            assert await store.client.hget("simbot:lease:stall", "owner") == "successor"
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


def test_file_store_reads_a_torn_file_as_one_that_lost_its_records(tmp_path):
    path = tmp_path / "lease.json"
    path.write_text("{not json")
    assert asyncio.run(FileStore(path).acquire("k", "a", 1)) is Grant.FRESH


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


def test_memory_store_wipe_loses_every_record_and_the_request_in_flight():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        store = MemoryStore(latency=(0.5, 0.5), wipes=[10.2, 20.7])
        assert await store.acquire("k", "a", 30) is Grant.FRESH
        await asyncio.sleep(9)  # 10.0: a renewal on its way when the store restarts at 10.2
        with pytest.raises(StoreUnavailable, match="restarted"):
            await store.renew("k", "a", 30)
        assert loop.time() == 10.5  # the request was lost: the client hears of it when it would have arrived
        assert not await store.renew("k", "a", 30)  # the record is gone: a holder learns it lost the lease
        assert await store.acquire("k", "b", 30) is Grant.FRESH  # and a newcomer is told no record was there
        await asyncio.sleep(20.0 - loop.time())
        with pytest.raises(StoreUnavailable, match="restarted"):
            await store.renew("k", "b", 30)  # acted on at 20.5, wiped at 20.7: the answer is lost
        assert loop.time() == 21.0 and store.leases == {}

    virtual(main())


def test_memory_store_answers_a_request_sent_after_a_wipe():
    async def main() -> None:
        store = MemoryStore(latency=(0.5, 0.5), wipes=[5.0])
        assert await store.acquire("k", "a", 30) is Grant.FRESH
        await asyncio.sleep(5)
        assert await store.acquire("k", "b", 30) is Grant.FRESH  # sent at 6 s: after the restart, answered

    virtual(main())


async def _acquire(policy: LeasePolicy):  # type: ignore[no-untyped-def]
    """What the policy makes of one acquire: (the time it may poll from, until when it may poll)."""
    holding = await policy._acquire(asyncio.Event())
    assert holding is not None
    return holding.quiet_until, holding.valid_until - policy.margin


async def _two_holders_around(store: RedisStore, lose_data) -> None:  # type: ignore[no-untyped-def]
    key = f"lost{next(_keys)}"
    a, b = (LeasePolicy(store, owner=name, key=key, retry_every=0.1) for name in ("a", "b"))
    await store.acquire(key, "earlier", 15)
    await store.release(key, "earlier")  # a lease in steady use: its record is there
    _, a_until = await _acquire(a)
    await lose_data()
    b_from, _ = await _acquire(b)  # Redis gives b the lease a still believes it holds...
    assert b_from >= a_until  # ... and b does not poll before a's validity is over
    assert b_from - asyncio.get_running_loop().time() <= b.ttl  # one TTL, no more
    assert not await store.renew(key, "a", 15)  # a finds out at its next renewal


def test_redis_that_is_flushed_cannot_make_two_holders(redis_url: str):
    async def main() -> None:
        store = _SettledRedis.from_url(redis_url)  # FLUSHALL is no restart: the record's absence must tell
        try:
            await _two_holders_around(store, store.client.flushall)
        finally:
            await store.client.aclose()

    asyncio.run(main())


def test_redis_that_restarts_empty_cannot_make_two_holders(tmp_path):
    port = free_port()
    with redis_server(port, tmp_path) as first:

        async def main() -> None:
            store = RedisStore.from_url(f"redis://127.0.0.1:{port}/0")

            async def restart() -> None:
                with contextlib.suppress(Exception):  # the connection dies with the server
                    await store.client.shutdown(nosave=True)
                first.wait(10)
                stack.enter_context(redis_server(port, tmp_path))

            try:
                await _two_holders_around(store, restart)
            finally:
                await store.client.aclose()

        with contextlib.ExitStack() as stack:
            asyncio.run(main())


def test_redis_restarted_from_an_older_snapshot_counts_as_fresh(tmp_path):
    """The snapshot holds a's lease as it was before a renewal: it expires before a's real validity."""
    port = free_port()
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(redis_server(port, tmp_path))

        async def main() -> None:
            store = RedisStore.from_url(f"redis://127.0.0.1:{port}/0")
            try:
                assert await store.acquire("k", "a", 0.5)
                await store.client.save()  # the snapshot: a's lease until +0.5 s
                assert await store.renew("k", "a", 3.0)  # a now believes it holds until +3 s
                with contextlib.suppress(Exception):
                    await store.client.shutdown(nosave=True)
                first.wait(10)
                stack.enter_context(redis_server(port, tmp_path))  # loads the snapshot
                await asyncio.sleep(0.6)
                assert await store.client.hget(store.prefix + "k", "owner") == "a"  # the old record is back...
                assert await store.acquire("k", "b", 3.0) is Grant.FRESH  # ... and not trusted
            finally:
                await store.client.aclose()

        asyncio.run(main())
