"""A run whose bot spins without awaiting, with a tiny watchdog: for the cluster's child processes."""

from __future__ import annotations

import asyncio

from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation


async def _spin(info: InstanceContext) -> None:
    await asyncio.sleep(1)
    while True:
        pass


def ended_by(bot: object = None) -> str:
    """How the run ended; ``bot`` is the slot every chunk call has first (its code is fingerprinted)."""
    sim = Simulation(seed=1, horizon=100, watchdog=0.3)
    sim.at(0, lambda: sim.spawn("spinner", _spin))
    return str(sim.run().meta["ended_by"])
