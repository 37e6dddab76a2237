"""Restart policies: what a platform does when the process exits by itself (§3.6, §5)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from simbot.platforms import preset
from simbot.platforms.service import Service
from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation


def exiting(code: int, after: float = 1.0):  # type: ignore[no-untyped-def]
    async def entry(info: InstanceContext) -> None:
        await asyncio.sleep(after)
        raise SystemExit(code)

    return entry


def run(platform: str, entry, horizon: float = 120.0):  # type: ignore[no-untyped-def]
    sim = Simulation(seed=1, horizon=horizon)
    service = Service(sim, preset(platform), entry)
    sim.at(0, service.start)
    return sim.run()


def test_exit_zero_stays_down_where_the_policy_is_on_failure():
    trace = run("railway_2025", exiting(0))
    assert [(e["instance"], e["code"]) for e in trace.of("exit")] == [("bot.v1", 0)]
    assert [e["instance"] for e in trace.of("stays_down")] == ["bot.v1"]


def test_docker_restart_always_backs_off_100ms_doubling():
    trace = run("docker_always", exiting(1), horizon=10)
    starts = [e["t"] for e in trace.of("spawn")]
    gaps = [round(b - a - 1.0, 6) for a, b in itertools.pairwise(starts)]  # each run lasts 1 s
    assert gaps[:5] == [0.1, 0.2, 0.4, 0.8, 1.6]


def test_restarts_that_stay_up_reset_the_backoff():
    trace = run("docker_always", exiting(1, after=12), horizon=60)
    delays = [e["delay"] for e in trace.of("restart_scheduled")]
    assert delays[:3] == [0.1, 0.1, 0.1]  # up 12 s > Docker's 10 s: the count resets


def test_railway_gives_up_after_ten_restarts():
    trace = run("railway_2025", exiting(1), horizon=20000)
    assert len(trace.of("restart_scheduled")) == 10
    [gave_up] = trace.of("gave_up")
    assert gave_up["restarts"] == 10


def test_heroku_restarts_at_once_then_after_a_20_minute_cool_off():
    trace = run("heroku_restart", exiting(1), horizon=3000)
    assert [e["delay"] for e in trace.of("restart_scheduled")][:3] == [0.0, 1200.0, 2400.0]


@pytest.mark.parametrize("platform", ["compose_recreate", "systemd_default"])
def test_restart_no_policies_leave_any_exit_down(platform):
    trace = run(platform, exiting(1))
    assert len(trace.of("spawn")) == 1 and len(trace.of("stays_down")) == 1


@pytest.mark.parametrize("platform", ["compose_recreate", "render_worker", "heroku_restart"])
def test_a_deploy_during_a_rollout_supersedes_it_and_leaves_one_process(platform: str):
    # found by exploring: two deploys at one instant left the first one's process running, orphaned
    sim = Simulation(seed=1, horizon=200)
    service = Service(sim, preset(platform), "simbot.drivers.ptb:well_behaved")
    sim.at(0, service.start)
    sim.at(10, service.deploy)
    sim.at(10, service.deploy)
    trace = sim.run()
    alive = {e["instance"] for e in trace.of("spawn")} - {e["instance"] for e in trace.of("exit")}
    assert alive == {"bot.v3"}
