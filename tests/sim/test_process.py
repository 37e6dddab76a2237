"""Simulated processes: exits, signals, SIGKILL and pauses (issue 3, "Simulated instances")."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import httpx

from fake_telegram import FakeTelegram, FakeTransport
from simbot.sim import Instance, InstanceContext, VirtualLoop
from tests.conftest import TOKEN


def spawn(loop: VirtualLoop, name: str, entry, exits: list) -> Instance:  # type: ignore[no-untyped-def]
    info = InstanceContext(name, {}, Path("/nonexistent"), "https://api.telegram.org")
    instance = Instance(loop, info, entry, on_exit=lambda i: exits.append((i.name, i.exit_code, loop.time())))
    instance.start()
    return instance


def simulate(body, horizon: float = 1000.0) -> list:  # type: ignore[no-untyped-def]
    loop = VirtualLoop(horizon=horizon)
    exits: list = []
    try:
        loop.run_until_complete(body(loop, exits))
    finally:
        loop.close()
    return exits


def test_return_raise_and_sys_exit_give_exit_codes():
    async def fine(info):  # type: ignore[no-untyped-def]
        await asyncio.sleep(1)

    async def broken(info):  # type: ignore[no-untyped-def]
        await asyncio.sleep(2)
        raise ValueError("boom")

    async def quits(info):  # type: ignore[no-untyped-def]
        await asyncio.sleep(3)
        sys.exit(7)

    async def body(loop, exits):  # type: ignore[no-untyped-def]
        for name, entry in (("fine", fine), ("broken", broken), ("quits", quits)):
            spawn(loop, name, entry, exits)
        await asyncio.sleep(10)

    assert simulate(body) == [("fine", 0, 1.0), ("broken", 1, 2.0), ("quits", 7, 3.0)]


def test_sys_exit_in_a_side_task_ends_only_that_instance_after_cleanup():
    cleaned: list[float] = []

    async def victim(info):  # type: ignore[no-untyped-def]
        async def side() -> None:
            await asyncio.sleep(5)
            sys.exit(3)

        side_task = asyncio.ensure_future(side())
        try:
            await asyncio.sleep(100)
        finally:
            cleaned.append(asyncio.get_running_loop().time())  # cancelled like asyncio.run does
            assert side_task.done()

    async def bystander(info):  # type: ignore[no-untyped-def]
        await asyncio.sleep(20)

    async def body(loop, exits):  # type: ignore[no-untyped-def]
        spawn(loop, "victim", victim, exits)
        spawn(loop, "bystander", bystander, exits)
        await asyncio.sleep(30)

    assert simulate(body) == [("victim", 3, 5.0), ("bystander", 0, 20.0)]
    assert cleaned == [5.0]


def test_sigkill_runs_no_more_code_and_leaves_the_poll_as_a_ghost():
    fake = FakeTelegram()
    after_kill: list[str] = []

    async def poller(info):  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(transport=FakeTransport(fake), base_url=info.base_url) as client:
            try:
                while True:
                    await client.post(f"/bot{TOKEN}/getUpdates", data={"timeout": "30"}, timeout=40)
            finally:
                after_kill.append("cleanup ran")

    async def body(loop, exits):  # type: ignore[no-untyped-def]
        instance = spawn(loop, "old", poller, exits)
        await asyncio.sleep(10)
        instance.signal(signal.SIGKILL)
        await asyncio.sleep(40)

    assert simulate(body) == [("old", 137, 10.0)]
    assert after_kill == []
    [ghost] = fake.log
    assert ghost.caller == "old" and ghost.answered_at == 30.0 and ghost.status == 200


def test_sigterm_reaches_the_handler_the_instance_registered():
    async def graceful(info):  # type: ignore[no-untyped-def]
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await asyncio.sleep(2)  # a clean shutdown takes a moment

    async def body(loop, exits):  # type: ignore[no-untyped-def]
        a = spawn(loop, "a", graceful, exits)
        b = spawn(loop, "b", graceful, exits)
        await asyncio.sleep(5)
        b.signal(signal.SIGTERM)
        await asyncio.sleep(5)
        a.signal(signal.SIGTERM)
        await asyncio.sleep(5)

    assert simulate(body) == [("b", 0, 7.0), ("a", 0, 12.0)]


def test_default_actions_sigterm_terminates_sigint_cancels_main():
    async def plain(info):  # type: ignore[no-untyped-def]
        try:
            await asyncio.sleep(100)
        finally:
            await asyncio.sleep(1)  # cleanup after KeyboardInterrupt-style cancellation

    async def body(loop, exits):  # type: ignore[no-untyped-def]
        term = spawn(loop, "term", plain, exits)
        intr = spawn(loop, "int", plain, exits)
        await asyncio.sleep(5)
        term.signal(signal.SIGTERM)
        intr.signal(signal.SIGINT)
        await asyncio.sleep(5)

    assert simulate(body) == [("term", 143, 5.0), ("int", 130, 6.0)]


def test_pause_holds_timers_and_io_then_releases_them_in_order():
    seen: list[tuple[str, float]] = []

    async def ticker(info):  # type: ignore[no-untyped-def]
        for i in range(5):
            await asyncio.sleep(1)
            seen.append((f"tick{i}", asyncio.get_running_loop().time()))

    async def body(loop, exits):  # type: ignore[no-untyped-def]
        instance = spawn(loop, "t", ticker, exits)
        await asyncio.sleep(2.5)
        instance.signal(signal.SIGSTOP)
        await asyncio.sleep(10)
        instance.signal(signal.SIGCONT)
        await asyncio.sleep(10)

    exits = simulate(body)
    assert seen == [("tick0", 1.0), ("tick1", 2.0), ("tick2", 12.5), ("tick3", 13.5), ("tick4", 14.5)]
    assert exits == [("t", 0, 14.5)]


def test_threads_and_real_sockets_are_findings():
    async def sneaky(info):  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        with contextlib.suppress(RuntimeError):
            await loop.run_in_executor(None, print)
        with contextlib.suppress(OSError):
            await asyncio.open_connection("example.com", 443)

    loop = VirtualLoop(horizon=10)
    exits: list = []

    async def body() -> None:
        spawn(loop, "sneaky", sneaky, exits)
        await asyncio.sleep(1)

    loop.run_until_complete(body())
    loop.close()
    assert [(f.instance, f.what) for f in loop.findings] == [
        ("sneaky", "thread pool call 'print'"), ("sneaky", "connection to example.com:443"),
    ]  # fmt: skip
    assert all("test_process.py" in f.where for f in loop.findings)


def test_callbacks_held_by_a_pause_run_after_it_in_the_order_they_became_ready():
    seen: list[tuple[str, float]] = []

    async def two(info):  # type: ignore[no-untyped-def]
        async def after(delay: float, name: str) -> None:
            await asyncio.sleep(delay)
            seen.append((name, asyncio.get_running_loop().time()))

        await asyncio.gather(after(4, "second"), after(3, "first"), after(5, "third"))

    async def body(loop, exits):  # type: ignore[no-untyped-def]
        instance = spawn(loop, "t", two, exits)
        await asyncio.sleep(2.5)
        instance.signal(signal.SIGSTOP)
        await asyncio.sleep(10)
        instance.signal(signal.SIGCONT)
        await asyncio.sleep(10)

    simulate(body)
    assert seen == [("first", 12.5), ("second", 12.5), ("third", 12.5)]
