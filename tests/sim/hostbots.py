"""Bots for the platform-hosts tests: what they find on their machine is kept by instance name."""

from __future__ import annotations

import asyncio
import fcntl
import os
from typing import Any

from simbot.sim.process import InstanceContext

SEEN: dict[str, Any] = {}
_HELD: list[Any] = []  # lock files stay open for the process's life


async def boot_counter(info: InstanceContext) -> None:
    """Counts its boots in a file under /var/lib: 2 means it found its predecessor's file."""
    os.makedirs("/var/lib/simbot-hostbot", exist_ok=True)
    path = "/var/lib/simbot-hostbot/boots"
    boots = int(open(path).read()) + 1 if os.path.exists(path) else 1  # noqa: SIM115
    with open(path, "w") as f:
        f.write(str(boots))
    SEEN[info.name] = boots
    await asyncio.sleep(3600)


async def lock_holder(info: InstanceContext) -> None:
    """The incident's host-local singleton: flock on /tmp/bot.lock, or give up."""
    f = open("/tmp/simbot-hostbot.lock", "w")  # noqa: SIM115
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        SEEN[info.name] = "refused"
        return
    _HELD.append(f)
    SEEN[info.name] = "locked"
    await asyncio.sleep(3600)
