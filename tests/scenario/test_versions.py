"""A deploy of another version: ``{ kind = "deploy", script = ..., env = {...} }`` (W11 and W12)."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import pytest

from simbot.platforms import preset
from simbot.platforms.service import Service
from simbot.scenario import ScenarioError, load, parse, save
from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation

ROOT = Path(__file__).parents[2]
MINIMAL = 'horizon = 100\n[platform]\npreset = "render_worker"\n[bot]\npolicy = "naive"\n'


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ('script = "nope.py"', "events[0].script: "),
        ("script = 3", "events[0].script: expected the new version's script, a path relative to this file, got 3"),
        ('env = "X=1"', "events[0].env: expected a table of NAME = \"value\" strings"),
        ("env = { X = 1 }", "events[0].env: expected a string value for X"),
        ('version = "2"', "events[0].version: expected a parameter of a 'deploy' event (at, kind, script, env)"),
    ],
)
def test_a_bad_version_names_the_events_key(event: str, message: str):
    with pytest.raises(ScenarioError) as caught:
        parse(tomllib.loads(MINIMAL + f'[[events]]\nat = 5\nkind = "deploy"\n{event}\n'))
    assert message in str(caught.value)


def test_the_new_script_is_relative_to_the_file_and_round_trips(tmp_path: Path):
    (tmp_path / "bots").mkdir()
    (tmp_path / "bots" / "new.py").write_text("print('v2')\n")
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL + '[[events]]\nat = 5\nkind = "deploy"\nscript = "bots/new.py"\nenv = { MODE = "webhook" }\n')
    s = load(path)
    assert s.events[0].params == {"script": str(tmp_path / "bots" / "new.py"), "env": {"MODE": "webhook"}}
    again = tmp_path / "again.toml"
    save(s, again)
    assert 'script = "bots/new.py"' in again.read_text() and load(again) == s


def test_each_generation_runs_its_own_version_and_a_restart_keeps_it():
    seen: list[tuple[str, str, str | None]] = []

    def version(label: str):  # type: ignore[no-untyped-def]
        async def entry(ctx: InstanceContext) -> None:
            seen.append((label, ctx.name, ctx.env.get("MODE")))
            await asyncio.sleep(1000)

        return entry

    sim = Simulation(seed=1, horizon=200)
    service = Service(sim, preset("compose_recreate"), version("old"), env={"MODE": "polling", "KEEP": "1"})
    sim.at(0, service.start)
    sim.at(30, lambda: service.deploy(version("new"), {"MODE": "webhook"}))
    sim.at(90, service.restart)  # the same generation again: still the new version
    sim.at(150, service.deploy)  # a deploy without a version: the last one again
    sim.run()
    assert seen == [("old", "bot.v1", "polling"), ("new", "bot.v2", "webhook"), ("new", "bot.v2#2", "webhook"),
                    ("new", "bot.v3", "webhook")]  # fmt: skip


def test_the_w11_file_deploys_the_webhook_bot_over_the_poller():
    s = load(ROOT / "scenarios" / "webhook-migrate-polling-to-webhook-ptb-render_web.toml")
    assert s.bot.script and s.bot.script.endswith("ptb_echo/bot.py")
    [deploy] = [e for e in s.events if e.kind == "deploy"]
    assert deploy.params["script"].endswith("ptb_webhook/bot.py")


@pytest.mark.parametrize("value", ["0", "1001", "true", "2.5", '"3"'])
def test_updates_chats_is_a_whole_number_of_chats(value: str):
    with pytest.raises(ScenarioError) as caught:
        parse(tomllib.loads(MINIMAL + f"[updates]\nevery = 10\nchats = {value}\n"))
    assert "updates.chats: expected a whole number of chats from 1 to 1000" in str(caught.value)


def test_updates_come_from_the_chats_in_turn_and_the_file_round_trips():
    from simbot.scenario import to_toml
    from simbot.scenario.run import build

    s = parse(tomllib.loads(MINIMAL + "[updates]\nevery = 10\nat = [7.0]\nchats = 3\n"))
    assert parse(tomllib.loads(to_toml(s))) == s and "chats = 3" in to_toml(s)
    assert "chats" not in to_toml(parse(tomllib.loads(MINIMAL + "[updates]\nevery = 10\n")))  # files as before
    sim = build(s)
    chats: list[tuple[float, int]] = []
    push = sim.push
    sim.push = lambda update: (chats.append((sim.now(), update["message"]["chat"]["id"])), push(update))  # type: ignore[method-assign]
    sim.run()
    assert chats[:5] == [(5.0, 1000), (7.0, 1001), (15.0, 1002), (25.0, 1000), (35.0, 1001)]
