"""Scenario files name the user's bot as it is written: [bot] script / module / main, and [bot.env]."""

from __future__ import annotations

import dataclasses
import shutil
import tomllib
from pathlib import Path

import pytest

from simbot.check import judge
from simbot.matrix import deploy_scenario
from simbot.scenario import Bot, ScenarioError, load, parse, save, simulate, to_toml
from simbot.scenario.targets import TOKEN_VARS
from simbot.sim.simulation import DEFAULT_TOKEN
from tests.checking.ready import BOTS, needs_program

HEAD = 'horizon = 200\n[platform]\npreset = "k8s_recreate"\n'


def scenario_file(folder: Path, bot: str) -> Path:
    path = folder / "scenario.toml"
    path.write_text(HEAD + "[bot]\n" + bot)
    return path


def test_a_script_is_relative_to_the_scenario_file_not_the_working_directory(tmp_path: Path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(BOTS / "echo_ptb.py", project / "bot.py")
    path = scenario_file(project, 'script = "bot.py"\n')
    monkeypatch.chdir(tmp_path)
    assert load(path).bot.script == str(project / "bot.py")
    assert load(path).bot.label() == "bot.py"


def test_a_saved_script_is_stored_relative_to_the_file_and_loads_back_the_same(tmp_path: Path):
    (tmp_path / "bot.py").write_text("")
    scenario = load(scenario_file(tmp_path, 'script = "bot.py"\nenv = { MODE = "test", LANG = "C" }\n'))
    elsewhere = tmp_path / "counterexamples" / "found.toml"
    elsewhere.parent.mkdir()
    save(scenario, elsewhere)
    assert tomllib.loads(elsewhere.read_text())["bot"] == {"script": "../bot.py", "env": {"MODE": "test", "LANG": "C"}}
    assert load(elsewhere) == scenario
    # without a file, to_toml writes the absolute path: parse gives the same scenario back from anywhere
    assert parse(tomllib.loads(to_toml(scenario))) == scenario


def test_module_and_main_round_trip(monkeypatch):
    monkeypatch.chdir(BOTS)
    for bot in ('module = "echopkg"\n', 'main = "echopkg.app:main"\n'):
        scenario = parse(tomllib.loads(HEAD + "[bot]\n" + bot))
        assert parse(tomllib.loads(to_toml(scenario))) == scenario
    assert parse(tomllib.loads(HEAD + '[bot]\nmodule = "echopkg"\n')).bot == Bot(policy=None, module="echopkg")
    assert parse(tomllib.loads(HEAD + '[bot]\nmain = "echopkg.run:main"\n')).bot.main == "echopkg.run:main"


@pytest.mark.parametrize(("bot", "message"), [
    ('script = "missing.py"\n', "bot.script: expected the bot's script, a file; "),
    ('script = "."\n', "is not a regular file"),
    ("script = 3\n", "bot.script: expected your bot's script, a path relative to this file, got 3"),
    ('module = "no_such_module_anywhere"\n', "bot.module: expected an importable module; no module named"),
    ('module = "tests.checking.bots"\n', "bot.module: expected a module to run; 'tests.checking.bots' is a package"),
    ('main = "tests.checking.bots.shapes:needs_args"\n', "bot.main: expected a function callable without arguments"),
    ('main = "tests.checking.bots.shapes:entry"\n', "bot.main: expected a function callable without arguments; "
                                                    "tests.checking.bots.shapes:entry takes the instance context"),
    ('main = "nocolon"\n', "bot.main: expected 'package.module:function', got 'nocolon'"),
    ('script = "x.py"\npolicy = "naive"\n', "bot: expected exactly one of bot.policy"),
    ('module = "echopkg"\nmain = "echopkg.app:main"\n', "got ['bot.main', 'bot.module']"),
    ('policy = "naive"\nenv = { BOT_TOKEN = 1 }\n', "bot.env: expected a string value for BOT_TOKEN"),
    ('policy = "naive"\nenv = { "1X" = "a" }\n', "bot.env: expected environment variable names of letters"),
    ('policy = "naive"\nenv = { "A-B" = "a" }\n', "bot.env: expected environment variable names"),
    ('policy = "naive"\nenv = "BOT_TOKEN=x"\n', 'bot.env: expected a table of NAME = "value" strings'),
    ('main = "echopkg.app:main"\nparams = { ttl = 3 }\n', "bot.params: expected no parameters: they are for "
                                                          "bot.policy, not bot.main"),
])  # fmt: skip
def test_bad_targets_are_refused_naming_the_key(tmp_path: Path, monkeypatch, bot: str, message: str):
    monkeypatch.chdir(BOTS)
    with pytest.raises(ScenarioError) as caught:
        load(scenario_file(tmp_path, bot))
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / "scenario.toml"))


def test_validating_a_main_never_runs_the_bots_code():
    # shapes.py raises on import; a file naming one of its mains still loads
    assert parse(tomllib.loads(HEAD + '[bot]\nmain = "tests.checking.bots.shapes:sync_main"\n')).bot.main


def test_targets_map_to_the_programs_entry_points(monkeypatch, tmp_path: Path):
    """run.py hands script/module/main to simbot.sim.program; here a stand-in runs the default PTB bot."""
    from simbot.drivers.ptb import naive
    from simbot.sim import program

    asked: list[tuple[str, object]] = []
    monkeypatch.setattr(program, "script", lambda path, argv=(): asked.append(("script", path)) or naive)
    monkeypatch.setattr(program, "module", lambda name, argv=(): asked.append(("module", name)) or naive)
    monkeypatch.setattr(program, "main", lambda spec: asked.append(("main", spec)) or naive)
    script = tmp_path / "bot.py"
    contract = judge(simulate(deploy_scenario(Bot(entry="simbot.drivers.ptb:naive"), "render_worker", 0)))
    for bot in (Bot(policy=None, script=str(script)), Bot(policy=None, module="echopkg"),
                Bot(policy=None, main="echopkg.app:main")):  # fmt: skip
        verdict = judge(simulate(deploy_scenario(bot, "render_worker", 0)))
        assert verdict.digest == contract.digest
    assert asked == [("script", str(script)), ("module", "echopkg"), ("main", "echopkg.app:main")]


def test_each_process_gets_the_token_variables_and_bot_env_which_wins(monkeypatch):
    from simbot.platforms.routing import routing_for
    from simbot.sim import simulation

    seen: list[dict[str, str]] = []
    spawn = simulation.Simulation.spawn

    def spy(self, name, entry, *, env=None, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(dict(env or {}))
        return spawn(self, name, entry, env=env, **kwargs)

    monkeypatch.setattr(simulation.Simulation, "spawn", spy)
    bot = Bot(entry="tests.checking.bots.entries:token_from_bot_token", env={"TOKEN": "mine", "MODE": "test"})
    verdict = judge(simulate(deploy_scenario(bot, "k8s_recreate", 0)))
    assert verdict.status == "PASS"  # it polled with BOT_TOKEN: the simulation's token
    web = routing_for("k8s_recreate").env()  # type: ignore[union-attr]  # the platform's PORT and public URL
    assert seen and all(env == {**web, **dict.fromkeys(TOKEN_VARS, DEFAULT_TOKEN), "TOKEN": "mine", "MODE": "test"}
                        for env in seen)  # fmt: skip


def test_a_bot_with_another_token_is_refused_401_and_never_polls():
    verdict = judge(simulate(deploy_scenario(Bot(entry="tests.checking.bots.entries:baked_token"), "k8s_recreate", 0)))
    assert verdict.status == "ERROR"
    assert "InvalidToken" in verdict.reason or any("InvalidToken" in c.line() for c in verdict.crashes)


@needs_program
def test_a_scenario_file_runs_a_script_next_to_it(tmp_path: Path):
    shutil.copy(BOTS / "echo_ptb.py", tmp_path / "bot.py")
    scenario = load(scenario_file(tmp_path, 'script = "bot.py"\n'))
    contract = judge(simulate(dataclasses.replace(scenario, bot=Bot(entry="simbot.drivers.ptb:naive"))))
    verdict = judge(simulate(scenario))
    assert {n: verdict.outcome(n) for n in verdict.checks} == {n: contract.outcome(n) for n in contract.checks}


def test_replaying_a_target_this_simbot_cannot_run_yet_says_so(tmp_path: Path, monkeypatch, capsys):
    from simbot.cli import main
    from simbot.sim import program

    def not_yet(path: str, argv: object = ()) -> None:
        raise NotImplementedError("simbot: script targets are not built yet")

    monkeypatch.setattr(program, "script", not_yet)
    (tmp_path / "bot.py").write_text("")
    assert main(["replay", str(scenario_file(tmp_path, 'script = "bot.py"\n'))]) == 2
    assert "bot: this simbot cannot run this kind of target yet" in capsys.readouterr().err
