"""A start-up with a planted race for the schedule search to find: tests/sim/race.py as a bot.

Two start paths (boot, and a re-arm one loop iteration later) each check that nobody has taken
the poller, ``await``, and take it. asyncio's FIFO order always lets boot take it before the
re-arm looks, so no scenario seed ever shows the bug; one other order of a single batch does,
and the instance dies of the assertion (compose's restart policy 'no' leaves it down).
"""

from __future__ import annotations

import asyncio

from telegram.ext import Application

from simbot.startup.base import shut_down, stop_event


async def claims_the_poller_twice(app: Application) -> None:  # type: ignore[type-arg]
    stop = stop_event()
    taken: dict[str, str | None] = {"poller": None}

    async def ensure_polling(name: str, hops: int) -> None:
        for _ in range(hops):
            await asyncio.sleep(0)
        if taken["poller"] is None:  # check
            await asyncio.sleep(0)  # ... an await (a store round trip, say) ...
            assert taken["poller"] is None, f"{name} takes the poller {taken['poller']} took"  # ... act
            taken["poller"] = name

    await asyncio.gather(ensure_polling("boot", 0), ensure_polling("rearm", 1))
    await app.initialize()
    await app.updater.start_polling()  # type: ignore[union-attr]
    await app.start()
    await stop.wait()
    await shut_down(app)
