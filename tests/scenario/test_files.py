"""Scenario files: validation, round trips, the replay command (issue 5, first part)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from simbot.platforms import preset
from simbot.platforms.service import Service
from simbot.scenario import Bot, Event, Scenario, ScenarioError, Updates, load, parse, to_toml
from simbot.sim.simulation import Simulation

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.toml"))
MINIMAL = 'horizon = 100\n[platform]\npreset = "render_worker"\n[bot]\npolicy = "naive"\n'


# Replaying every curated file against its [expect]: the simbot pytest plugin collects each
# as a test item (pyproject.toml: simbot_scenarios = ["scenarios"]), scenarios/NAME.toml::expect.


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_writing_a_scenario_and_loading_it_back_gives_the_same_scenario(path: Path):
    scenario = load(path)
    assert scenario.expect and scenario.description  # curated: each states its verdict and why
    assert parse(tomllib.loads(to_toml(scenario))) == scenario


def test_a_rich_scenario_round_trips():
    scenario = Scenario(
        seed=3, horizon=500, platform="k8s_rolling_1", platform_overrides={"grace": 5.0, "replicas": 2},
        bot=Bot(policy="lease", params={"ttl": 20.0}), latency=(0.01, 0.1), drop=0.01,
        store_latency=(0.0, 0.02), store_outages=((100.0, 120.0),),
        events=(Event(0, "start"), Event(50, "deploy"), Event(70, "stray", {"until": 90.0, "name": "laptop"}),
                Event(80, "telegram_outage", {"seconds": 5, "status": 502})),
        updates=Updates(every=7.5, start=1.0, at=(3.0,)), expect={"single_poller": "pass"}, description="all of it",
        services=("redis",), public_url="https://my-bot.example.org",
    )  # fmt: skip
    assert parse(tomllib.loads(to_toml(scenario))) == scenario


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("horizon = 100\n", "<scenario>: platform.preset: expected one of"),
        (MINIMAL.replace("render_worker", "render"), "platform.preset: expected one of compose_recreate"),
        (MINIMAL.replace("horizon = 100", "horizon = -5"), "horizon: expected a number between 1 and"),
        (MINIMAL.replace("horizon = 100", ""), "horizon: expected the run's length in virtual seconds"),
        ("colour = 1\n" + MINIMAL, "<scenario>: colour: expected one of the keys"),
        (MINIMAL + "colour = 1\n", "<scenario>: bot.colour: expected one of entry, env, main, module, params, policy, script, startup"),
        (MINIMAL.replace('policy = "naive"', 'policy = "yolo"'), "bot.policy: expected one of naive"),
        (MINIMAL.replace('policy = "naive"', 'entry = "nocolon"'), "bot.entry: expected 'package.module:function'"),
        (MINIMAL + "[bot.params]\nttl = 1\n", "bot.params.ttl: expected a parameter of 'naive' (poll_timeout)"),
        (MINIMAL + '[[events]]\nat = 5\nkind = "explode"\n', "events[0].kind: expected one of start, deploy"),
        (MINIMAL + '[[events]]\nkind = "deploy"\n', "events[0].at: expected the event's virtual time"),
        (MINIMAL + '[[events]]\nat = 500\nkind = "deploy"\n', "events[0].at: expected a number between 0 and 100"),
        (MINIMAL + '[[events]]\nat = 5\nkind = "scale"\n', "events[0].replicas: expected a value"),
        (MINIMAL + '[[events]]\nat = 5\nkind = "crash"\nsignal = 9\n', "events[0].signal: expected a parameter of a 'crash' event"),
        (MINIMAL + "[network]\nlatency = [0.2, 0.1]\n", "network.latency: expected [low, high] with low <= high"),
        (MINIMAL + "[network]\ndrop = 2\n", "network.drop: expected a number between 0 and 1"),
        (MINIMAL + "[services]\nredis = 1\n", "services.redis: expected true or false, got 1"),
        (MINIMAL + "[services]\npostgres = true\n", "services.postgres: expected one of redis"),
        (MINIMAL + '[expect]\nliveness = "maybe"\n', "expect.liveness: expected one of pass, fail, inconclusive"),
        (MINIMAL + '[expect]\nhappiness = "pass"\n', "expect.happiness: expected one of"),
        (MINIMAL.replace('preset = "render_worker"', 'preset = "render_worker"\ngrace = 500'), "platform.grace: expected grace (500 s) within grace_bounds (1 to 300 s)"),
        (MINIMAL.replace('preset = "render_worker"', 'preset = "render_worker"\npublic_url = "https://a.b"'), "platform.public_url: expected no public URL: render_worker routes no HTTP to the bot"),
        (MINIMAL.replace('preset = "render_worker"', 'preset = "render_web"\npublic_url = "https://a.b/hook"'), "platform.public_url: expected the service's https address without a path"),
        (MINIMAL.replace('preset = "render_worker"', 'preset = "render_web"\npublic_url = 5'), "platform.public_url: expected the service's https address"),
        (MINIMAL.replace('preset = "render_worker"', 'preset = "render_web"\npublic_url = "https://u:pw@a.b"'), "platform.public_url: expected the service's https address"),
        (MINIMAL.replace('preset = "render_worker"', 'preset = "render_web"\npublic_url = "https://a.b:8080"'), "platform.public_url: expected a webhook port Telegram posts to: 443, 80, 88 or 8443"),
        (MINIMAL.replace('preset = "render_worker"', 'preset = "render_web"\npublic_url = "https://api.telegram.org"'), "platform.public_url: expected the bot's own address, not the Bot API's"),
    ],
)  # fmt: skip
def test_bad_files_get_an_error_naming_the_key_and_what_was_expected(text: str, message: str):
    with pytest.raises(ScenarioError) as caught:
        parse(tomllib.loads(text))
    assert message in str(caught.value)


def test_unreadable_files_name_the_file(tmp_path: Path):
    with pytest.raises(ScenarioError, match=r"nope\.toml: no such file"):
        load(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("horizon = = 3")
    with pytest.raises(ScenarioError, match=r"broken\.toml: not valid TOML"):
        load(broken)


def simbot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "simbot.cli", *args], capture_output=True, text=True, timeout=120)


def test_replay_exit_codes_0_match_1_differ_2_invalid(tmp_path: Path):
    incident = Path(__file__).parents[2] / "scenarios" / "incident-render-delay-probe-backoff.toml"
    matched = simbot("replay", str(incident))
    assert matched.returncode == 0 and "matches [expect]" in matched.stdout and "bot.v2" in matched.stdout
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(incident.read_text().replace('single_poller = "fail"', 'single_poller = "pass"'))
    differs = simbot("replay", str(wrong), "--json")
    assert differs.returncode == 1
    assert json.loads(differs.stdout)["differences"] == ["single_poller: expected pass, got fail"]
    invalid = tmp_path / "invalid.toml"
    invalid.write_text("horizon = 1\n")
    failed = simbot("replay", str(invalid))
    assert failed.returncode == 2 and "invalid.toml: platform.preset: expected" in failed.stderr
    assert "Traceback" not in failed.stderr


def test_a_restarted_process_gets_its_own_name_and_names_are_unique():
    sim = Simulation(seed=1, horizon=100)
    service = Service(sim, preset("heroku_restart"), "simbot.drivers.ptb:naive")
    sim.at(0, service.start)
    sim.at(30, service.restart)
    sim.at(60, service.restart)
    trace = sim.run()
    assert [e["instance"] for e in trace.of("spawn")] == ["bot.v1", "bot.v1#2", "bot.v1#3"]
    sim2 = Simulation(seed=1, horizon=10)
    sim2.spawn("x", "simbot.drivers.ptb:naive")
    with pytest.raises(ValueError, match="already exists"):
        sim2.spawn("x", "simbot.drivers.ptb:naive")
    sim2.run()  # and the first one runs and is cleaned up as usual
