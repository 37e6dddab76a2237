"""Each policy on several presets, with the verdict it really has (issue 4)."""

from __future__ import annotations

import tomllib

import pytest

from simbot.check import judge
from simbot.matrix import deploy
from simbot.platforms import PRESETS
from simbot.scenario import Bot, Event, Scenario, Updates, simulate

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
    verdict = deploy(policy, platform)
    assert (verdict.outcome("single_poller"), verdict.outcome("liveness")) == (single_poller, liveness), verdict.describe()
    assert verdict.outcome("lost_updates") == verdict.outcome("duplicates") == "pass", verdict.describe()


def test_delay_probe_backoff_adds_its_delay_to_every_deploy_and_still_conflicts_on_render():
    naive, fixed = deploy("naive", "render_worker"), deploy("delay-probe-backoff", "render_worker")
    assert fixed.checks["single_poller"].violations  # the claim "should prevent the conflicts" does not hold
    assert fixed.metrics["downtime"] > naive.metrics["downtime"]


@pytest.mark.parametrize("platform", sorted(PRESETS))
def test_lease_is_safe_and_live_on_every_preset_under_faults(platform):
    p = PRESETS[platform]
    horizon = 260 + p.startup_window() + p.grace + 150
    scenario = Scenario(
        seed=7, horizon=horizon, platform=platform, bot=Bot(policy="lease"), latency=(0.01, 0.2),
        store_latency=(0.001, 0.05), store_outages=((200.0, 230.0),),
        events=(Event(0, "start"), Event(60, "deploy"), Event(150, "crash", {"code": 137}),  # SIGKILL slot 0
                Event(260, "deploy")),
        updates=Updates(at=tuple(float(t) for t in range(5, int(horizon) - 60, 10))),
    )  # fmt: skip
    verdict = judge(simulate(scenario))
    assert verdict.outcome("single_poller") == "pass", verdict.describe()
    assert verdict.outcome("liveness") == "pass", verdict.describe()
    assert verdict.outcome("lost_updates") == "pass", verdict.describe()


@pytest.mark.parametrize("platform", sorted(PRESETS))
def test_lease_keeps_one_poller_when_its_store_restarts_empty_mid_deploy(platform):
    """Store restarts at several points of a deploy, with latency so that some request is in flight."""
    p = PRESETS[platform]
    horizon = 60 + p.startup_window() + p.grace + 200
    scenario = Scenario(
        seed=3, horizon=horizon, platform=platform, bot=Bot(policy="lease"), latency=(0.01, 0.2),
        store_latency=(0.01, 0.3), store_wipes=(40.0, 63.0, 71.5, 84.25, 97.0),
        events=(Event(0, "start"), Event(60, "deploy")),
        updates=Updates(at=tuple(float(t) for t in range(5, int(horizon) - 60, 10))),
    )  # fmt: skip
    verdict = judge(simulate(scenario))
    assert verdict.outcome("single_poller") == "pass", verdict.describe()
    assert verdict.outcome("liveness") == "pass", verdict.describe()
    assert verdict.outcome("lost_updates") == "pass", verdict.describe()


def test_store_wipes_round_trip_through_a_scenario_file_and_bad_ones_are_named():
    from simbot.scenario.files import ScenarioError, parse, to_toml

    scenario = Scenario(seed=0, horizon=100, platform="render_worker", store_wipes=(30.0, 75.5))
    assert parse(tomllib.loads(to_toml(scenario))).store_wipes == (30.0, 75.5)
    with pytest.raises(ScenarioError, match=r"store\.wipes\[1\]"):
        parse({"horizon": 100, "platform": {"preset": "render_worker"}, "bot": {"policy": "lease"},
               "store": {"wipes": [1, "soon"]}})
