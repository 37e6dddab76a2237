"""The run's Redis: redis-py, unmodified, against fakeredis's engine on the virtual network and clock."""

from __future__ import annotations

import asyncio
import signal

import pytest

from simbot.sim.process import InstanceContext
from simbot.sim.redis_service import URL, RedisService
from simbot.sim.simulation import Simulation

redis_asyncio = pytest.importorskip("redis.asyncio")

RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


def with_redis(horizon: float = 60) -> tuple[Simulation, list[str]]:
    sim = Simulation(seed=1, horizon=horizon)
    RedisService(sim.loop)
    return sim, []


def locker(log: list[str], hold: float) -> object:
    async def bot(info: InstanceContext) -> None:
        r = redis_asyncio.Redis.from_url(URL)
        t = asyncio.get_running_loop().time
        got = await r.set("bot:lock", info.name, nx=True, px=6000)
        log.append(f"{t():g} {info.name} set nx {got}")
        await asyncio.sleep(hold)
        log.append(f"{t():g} {info.name} get {await r.get('bot:lock')} pttl {await r.pttl('bot:lock')}")
        log.append(f"{t():g} {info.name} release {await r.eval(RELEASE, 1, 'bot:lock', info.name)}")
        await r.aclose()

    return bot


def test_set_nx_px_is_shared_expires_in_virtual_time_and_eval_runs_lua() -> None:
    sim, log = with_redis()
    sim.at(0, lambda: sim.spawn("a", locker(log, hold=7)))  # its lock expires at 6 s
    sim.at(1, lambda: sim.spawn("b", locker(log, hold=2)))  # refused: a holds it
    sim.at(6.5, lambda: sim.spawn("c", locker(log, hold=1)))  # a's expired: c takes it
    sim.run()
    assert log == [
        "0 a set nx True",
        "1 b set nx None",
        "3 b get b'a' pttl 3000",
        "3 b release 0",  # not its lock: the script leaves it
        "6.5 c set nx True",
        "7 a get b'c' pttl 5500",
        "7 a release 0",
        "7.5 c get b'c' pttl 5000",
        "7.5 c release 1",
    ]
    assert not sim.loop.findings


def test_the_servers_clock_has_no_instance_skew_and_the_run_is_deterministic() -> None:
    def once() -> list[str]:
        sim, log = with_redis()
        sim.at(0, lambda: sim.spawn("a", locker(log, hold=5), clock_skew=30.0))  # its own clock is 30 s ahead
        sim.at(1, lambda: sim.spawn("b", locker(log, hold=1)))
        sim.run()
        return log

    log = once()
    assert log[:3] == ["0 a set nx True", "1 b set nx None", "2 b get b'a' pttl 4000"] and log == once()


def test_a_killed_client_leaves_its_lock_until_it_expires() -> None:
    sim, log = with_redis()
    sim.at(0, lambda: sim.spawn("a", locker(log, hold=100)))
    sim.at(2, lambda: sim.signal(sim.instances[0], signal.SIGKILL))
    sim.at(3, lambda: sim.spawn("b", locker(log, hold=0)))
    sim.at(7, lambda: sim.spawn("c", locker(log, hold=0)))
    sim.run()
    assert log[:2] == ["0 a set nx True", "3 b set nx None"] and log[3:5] == [
        "3 b release 0",
        "7 c set nx True",
    ]


def test_nothing_listens_on_redis_without_the_service() -> None:
    sim, log = Simulation(seed=1, horizon=10), []

    async def bot(info: InstanceContext) -> None:
        try:
            await redis_asyncio.Redis.from_url(URL).ping()
        except Exception as exc:
            log.append(type(exc).__name__)

    sim.at(0, lambda: sim.spawn("a", bot))
    sim.run()
    assert log == ["ConnectionError"]
    assert [f.what for f in sim.loop.findings] == ["connection to redis:6379"]


def test_a_blocking_command_that_would_wait_is_refused_and_reported_not_waited_for() -> None:
    sim, log = with_redis()

    async def bot(info: InstanceContext) -> None:
        r = redis_asyncio.Redis.from_url(URL)
        await r.rpush("q", "x")
        log.append(str(await r.blpop(["q"], timeout=1)))
        try:
            await r.blpop(["q"], timeout=1)
        except Exception as exc:
            log.append(type(exc).__name__)

    sim.at(0, lambda: sim.spawn("a", bot))
    sim.run()
    assert log == ["(b'q', b'x')", "ResponseError"]
    assert [f.what for f in sim.loop.findings] == ["a blocking Redis command that would wait (not modelled)"]


def test_the_service_name_resolves_to_its_address_which_connects_too() -> None:
    sim, log = with_redis()

    async def bot(info: InstanceContext) -> None:
        [(*_, (address, port))] = await asyncio.get_running_loop().getaddrinfo("redis", 6379)
        r = redis_asyncio.Redis(host=address, port=port)
        log.append(f"{address} {await r.ping()}")

    sim.at(0, lambda: sim.spawn("a", bot))
    sim.run()
    assert log == ["10.0.0.2 True"]


def test_a_subscriber_gets_what_another_process_publishes_when_it_is_published() -> None:
    sim, log = with_redis()

    async def subscriber(info: InstanceContext) -> None:
        channel = redis_asyncio.Redis.from_url(URL).pubsub()
        await channel.subscribe("news")
        while (message := await channel.get_message(ignore_subscribe_messages=True, timeout=5)) is None:
            pass
        log.append(f"{asyncio.get_running_loop().time():g} got {message['data']!r}")

    async def publisher(info: InstanceContext) -> None:
        log.append(f"published to {await redis_asyncio.Redis.from_url(URL).publish('news', 'hi')}")

    sim.at(0, lambda: sim.spawn("s", subscriber))
    sim.at(2, lambda: sim.spawn("p", publisher))
    sim.run()
    assert log == ["published to 1", "2 got b'hi'"]


def test_a_key_set_with_px_is_there_until_its_ttl_ends_in_virtual_time_then_gone() -> None:
    sim, log = with_redis(horizon=600)

    async def setter(info: InstanceContext) -> None:
        await redis_asyncio.Redis.from_url(URL).set("bot:lock", "a", nx=True, px=6000)

    async def getter(info: InstanceContext) -> None:
        r = redis_asyncio.Redis.from_url(URL)
        log.append(
            f"{asyncio.get_running_loop().time():g} {await r.get('bot:lock')} {await r.pttl('bot:lock')}"
        )

    sim.at(100, lambda: sim.spawn("a", setter))
    for i, t in enumerate((100.001, 105.999, 106.0, 106.001)):
        sim.at(t, lambda i=i: sim.spawn(f"g{i}", getter))
    sim.run()
    # as redis itself (keyIsExpired: now > when): at its last millisecond the key is still there, PTTL 0
    assert log == ["100.001 b'a' 5999", "105.999 b'a' 1", "106 b'a' 0", "106.001 None -2"]
