"""A run leaves nothing behind to be printed later: no warnings from a framework's known
noise, nothing "never awaited" or "never retrieved" when the garbage collector comes by."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings

import pytest

from simbot.matrix import deploy
from simbot.scenario import Event, Scenario
from simbot.scenario.run import simulate
from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation


def _recorded(run) -> list[str]:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
        gc.collect()
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def test_ptbs_own_retry_after_deprecation_is_not_shown_for_a_telegram_429() -> None:
    s = Scenario(seed=0, horizon=60, platform="render_worker",
                 events=(Event(0.0, "start"), Event(10.0, "telegram_outage", {"seconds": 5.0, "status": 429})))  # fmt: skip
    seen = _recorded(lambda: simulate(s))
    assert not [w for w in seen if "retry_after" in w], seen


def test_a_shutdown_left_unfinished_at_teardown_warns_nothing_never_awaited() -> None:
    # railway_2025 + naive: an instance's PTB shutdown is still pending at teardown; closing it
    # runs its finally, which gathers HTTPXRequest.shutdown() coroutines that never start
    seen = _recorded(lambda: deploy("naive", "railway_2025"))
    assert not [w for w in seen if "never awaited" in w], seen


def test_a_run_stopped_by_the_watchdog_logs_no_unretrieved_exception(caplog: pytest.LogCaptureFixture) -> None:
    async def spinner(info: InstanceContext) -> None:
        await asyncio.sleep(1)
        while True:
            pass

    def run() -> str:
        sim = Simulation(seed=1, horizon=100, watchdog=0.3)
        sim.at(0, lambda: sim.spawn("spinner", spinner))
        return str(sim.run().meta["ended_by"])

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        assert run() == "watchdog"
        gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
