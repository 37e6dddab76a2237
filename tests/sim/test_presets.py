"""Each preset's deploy timeline against docs/platforms.md §4's closed form (±1 s)."""

from __future__ import annotations

import pytest

from simbot.check import judge
from simbot.drivers.ptb import well_behaved
from simbot.platforms import PRESETS, Platform
from simbot.platforms.service import Service
from simbot.sim.simulation import Simulation

DEPLOY_AT = 100.0
BOOT = 0.0  # getMe, deleteWebhook, getUpdates: no latency in these runs
STOP = 1.0  # the well-behaved bot stops 1 s after its signal


def expected(p: Platform) -> tuple[float, float]:
    """(overlap, gap) of one deploy, from §4's closed form."""
    stop_polling = min(STOP, p.grace)  # SIGKILL ends it sooner when the grace is shorter
    if p.order == "start_first":
        overlap = p.startup_window() + stop_polling - BOOT
        return max(0.0, overlap), max(0.0, -overlap)
    if p.order == "simultaneous":
        return max(0.0, stop_polling - BOOT), max(0.0, BOOT - stop_polling)
    return 0.0, stop_polling + BOOT  # stop_first: the new one starts when the old one is gone


SINGLE = sorted(n for n, p in PRESETS.items() if p.replicas == 1 and n != "local_dev_stray")


@pytest.mark.parametrize("name", SINGLE)
def test_deploy_overlap_matches_the_closed_form(name):
    platform = PRESETS[name]
    sim = Simulation(seed=3, horizon=DEPLOY_AT + platform.startup_window() + platform.grace + 90)
    service = Service(sim, platform, well_behaved)
    sim.at(0, service.start)
    sim.at(DEPLOY_AT, service.deploy)
    verdict = judge(sim.run())
    overlap, gap = expected(platform)
    assert verdict.metrics["overlap"] == pytest.approx(overlap, abs=1.0), verdict.describe()
    assert verdict.metrics["gap"] == pytest.approx(gap, abs=1.0), verdict.describe()
    assert verdict.checks["liveness"].passed, verdict.describe()


def test_two_machines_poll_for_ever_on_fly_launch_default():
    platform = PRESETS["fly_launch_default"]
    sim = Simulation(seed=3, horizon=300)
    service = Service(sim, platform, well_behaved)
    sim.at(0, service.start)
    verdict = judge(sim.run())
    assert verdict.metrics["overlap"] == pytest.approx(300, abs=1.0)
    assert verdict.checks["single_poller"].passed is False and verdict.checks["liveness"].passed is False
