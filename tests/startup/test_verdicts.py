"""Each policy on several presets, with the verdict it really has (issue 4)."""

from __future__ import annotations

import pytest

from fake_telegram import message_update
from simbot.check import Verdict, judge
from simbot.drivers.ptb import with_policy
from simbot.platforms import PRESETS, preset
from simbot.platforms.service import Service
from simbot.sim.network import Network
from simbot.sim.simulation import Simulation
from simbot.startup import MemoryStore


def deploy_scenario(policy: str, platform: str, seed: int = 1) -> Verdict:
    sim = Simulation(seed=seed, horizon=300)
    service = Service(sim, preset(platform), with_policy(policy))
    sim.at(0, service.start)
    sim.at(60, service.deploy)
    for t in range(5, 295, 10):
        sim.at(t, lambda: sim.push(message_update("hi", date=int(sim.epoch + sim.now()))))
    return judge(sim.run())


EXPECTED = [  # (policy, preset, single_poller, liveness); lost and duplicated updates: none in any
    ("naive", "render_worker", "fail", "pass"),
    ("naive", "k8s_rolling_1", "fail", "pass"),
    ("naive", "docker_always", "pass", "pass"),
    ("exit-on-conflict", "render_worker", "fail", "pass"),
    ("exit-on-conflict", "heroku_restart", "pass", "pass"),
    ("exit-on-conflict", "docker_always", "pass", "pass"),
    ("delay-probe-backoff", "render_worker", "fail", "pass"),
    ("delay-probe-backoff", "render_web", "fail", "pass"),
    ("delay-probe-backoff", "railway_2025", "pass", "pass"),
    ("delay-probe-backoff", "k8s_rolling_1", "pass", "pass"),
    ("lease", "render_worker", "pass", "pass"),
    ("lease", "railway_2025", "pass", "pass"),
    ("lease", "k8s_rolling_1", "pass", "pass"),
]


@pytest.mark.parametrize(("policy", "platform", "single_poller", "liveness"), EXPECTED)
def test_policy_on_preset_has_its_expected_verdict(policy, platform, single_poller, liveness):
    verdict = deploy_scenario(policy, platform)
    assert (verdict.outcome("single_poller"), verdict.outcome("liveness")) == (single_poller, liveness), verdict.describe()
    assert verdict.outcome("lost_updates") == verdict.outcome("duplicates") == "pass", verdict.describe()


def test_delay_probe_backoff_adds_its_delay_to_every_deploy_and_still_conflicts_on_render():
    naive, fixed = deploy_scenario("naive", "render_worker"), deploy_scenario("delay-probe-backoff", "render_worker")
    assert fixed.checks["single_poller"].violations  # the claim "should prevent the conflicts" does not hold
    assert fixed.metrics["downtime"] > naive.metrics["downtime"]


@pytest.mark.parametrize("platform", sorted(PRESETS))
def test_lease_is_safe_and_live_on_every_preset_under_faults(platform):
    p = PRESETS[platform]
    deploy2 = 260.0
    horizon = deploy2 + p.startup_window() + p.grace + 150
    sim = Simulation(seed=7, horizon=horizon, network=Network(latency=(0.01, 0.2)))
    sim.shared["lease_store"] = MemoryStore(latency=(0.001, 0.05), outages=[(200.0, 230.0)], seed=3)
    service = Service(sim, p, with_policy("lease"))
    sim.at(0, service.start)
    sim.at(60, service.deploy)
    sim.at(150, lambda: service.crash(0, code=137))  # SIGKILL whatever runs in the first slot
    sim.at(deploy2, service.deploy)
    for t in range(5, int(horizon) - 60, 10):
        sim.at(t, lambda: sim.push(message_update("hi", date=int(sim.epoch + sim.now()))))
    verdict = judge(sim.run())
    assert verdict.outcome("single_poller") == "pass", verdict.describe()
    assert verdict.outcome("liveness") == "pass", verdict.describe()
    assert verdict.outcome("lost_updates") == "pass", verdict.describe()
