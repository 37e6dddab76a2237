"""Bots that never work, for the verdict's ERROR and INCONCLUSIVE statuses (tests/report/test_status.py)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sys

from simbot.drivers.ptb import naive
from simbot.sim.process import InstanceContext


async def raises_in_entry(info: InstanceContext) -> None:
    await asyncio.sleep(0.5)
    raise ValueError("no token configured")  # the line the verdict must name


async def raises_at_import(info: InstanceContext) -> None:
    importlib.import_module("tests.report.broken")


async def never_polls(info: InstanceContext) -> None:
    await asyncio.Event().wait()  # waits for a signal that never comes: no getUpdates, ever


async def exits_three(info: InstanceContext) -> None:
    sys.exit(3)  # a crash loop with no message


async def spins(info: InstanceContext) -> None:
    await naive_for(info, 20.0)
    while True:  # never yields to the loop: only the watchdog stops it
        pass


async def busy(info: InstanceContext) -> None:
    await naive_for(info, 20.0)
    while True:
        await asyncio.sleep(0)


async def naive_for(info: InstanceContext, seconds: float) -> None:
    """Poll as the default PTB bot does, for ``seconds``, then return (the bot goes on by itself)."""
    task = asyncio.ensure_future(naive(info))
    await asyncio.sleep(seconds)
    task.cancel()


async def uses_a_thread(info: InstanceContext) -> None:
    """Asks for a thread (a finding), survives the refusal, then polls normally."""
    from concurrent.futures import ThreadPoolExecutor  # here: the lines the other tests name stay put

    with contextlib.suppress(RuntimeError):  # a real pool (run_in_executor runs in a greenlet instead)
        ThreadPoolExecutor().submit(sum, [1, 2])
    await naive(info)


async def crashes_once(info: InstanceContext) -> None:
    """The first generation crashes after polling a while; every later one polls for good."""
    if info.name == "bot.v1":
        await naive_for(info, 20.0)
        raise KeyError("session")
    await naive(info)
