"""Which machine a platform runs a replacement process on: its files and locks persist only there."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from simbot.platforms import PRESETS, preset
from simbot.platforms.service import Service, stray
from simbot.scenario import ScenarioError, parse
from simbot.scenario.run import simulate
from simbot.sim.simulation import Simulation
from tests.sim import hostbots

DOCS = Path(__file__).resolve().parents[2] / "docs" / "platforms.md"


@pytest.fixture(autouse=True)
def _fresh() -> Any:
    hostbots.SEEN.clear()
    yield
    for f in hostbots._HELD:
        f.close()
    hostbots._HELD.clear()


def lifecycle(name: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Start, a crash of the replica at 5 s, a deploy at 60 s: each process's host and boot count."""
    sim = Simulation(horizon=120)
    service = Service(sim, preset(name), hostbots.boot_counter)
    sim.at(0, service.start)
    sim.at(5, service.crash)
    sim.at(60, service.deploy)
    trace = sim.run()
    return {e["instance"]: e["host"] for e in trace.of("spawn")}, dict(hostbots.SEEN)


def test_docker_restarts_the_same_container_and_a_deploy_makes_a_new_one() -> None:
    hosts, boots = lifecycle("docker_always")
    assert hosts == {"bot.v1": "bot.c1", "bot.v1#2": "bot.c1", "bot.v2": "bot.c2"}
    assert boots == {"bot.v1": 1, "bot.v1#2": 2, "bot.v2": 1}


def test_kubernetes_gives_every_process_a_fresh_container() -> None:
    hosts, boots = lifecycle("k8s_rolling_1")
    assert len(set(hosts.values())) == len(hosts) == 3
    assert set(boots.values()) == {1}


def test_systemd_runs_every_process_on_the_one_machine() -> None:
    hosts, boots = lifecycle("systemd_default")  # Restart=no: the crash stays down until the deploy
    assert hosts == {"bot.v1": "bot", "bot.v2": "bot"}
    assert boots == {"bot.v1": 1, "bot.v2": 2}


def test_every_preset_has_its_hosts_value_in_the_documented_table() -> None:
    table = DOCS.read_text().split("### 5.1", 1)[1].split("\n## ", 1)[0]
    documented = dict(re.findall(r"^\| `(\w+)` \| `(\w+)` \|", table, flags=re.M))
    assert documented == {name: p.hosts for name, p in PRESETS.items()}


def test_a_stray_on_a_replicas_machine_meets_its_lock() -> None:
    sim = Simulation(horizon=30)
    service = Service(sim, preset("render_worker"), hostbots.lock_holder)
    sim.at(0, service.start)
    stray(sim, hostbots.lock_holder, start=10, name="by-hand", host=lambda: service.replica_host(0))
    stray(sim, hostbots.lock_holder, start=10, name="laptop")
    trace = sim.run()
    assert hostbots.SEEN == {"bot.v1": "locked", "by-hand": "refused", "laptop": "locked"}
    assert [e.get("host") for e in trace.of("stray_start")] == ["bot.v1", None]


SCENARIO = """
seed = 0
horizon = 60
[platform]
preset = "render_worker"
[bot]
entry = "tests.sim.hostbots:lock_holder"
[[events]]
at = 0
kind = "start"
[[events]]
at = 10
kind = "stray"
entry = "tests.sim.hostbots:lock_holder"
replica = REPLICA
"""


def test_a_scenario_stray_can_name_a_replicas_machine() -> None:
    simulate(parse(tomllib.loads(SCENARIO.replace("REPLICA", "0"))))
    assert hostbots.SEEN == {"bot.v1": "locked", "stray": "refused"}
    with pytest.raises(ScenarioError, match=r"events\[1\]\.replica: expected a replica that exists at 10 s"):
        parse(tomllib.loads(SCENARIO.replace("REPLICA", "1")))
