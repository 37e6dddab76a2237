"""The pytest plugin: its fixtures, used the way a user's test would, and scenario files as test items."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import respx

from fake_telegram import FakeTelegram
from simbot.cli import main as simbot
from simbot.matrix import settled_horizon
from simbot.platforms import PRESETS
from simbot.scenario import Event
from simbot.sim import run
from tests.checking.ready import needs_program
from tests.conftest import TOKEN

pytest_plugins = ["pytester"]
ROOT = Path(__file__).parents[1]


def test_telegram_mock_routes_every_httpx_client_to_the_fake(fake_telegram: FakeTelegram, telegram_mock: respx.MockRouter):
    async def main() -> dict:
        fake_telegram.push(TOKEN, {"poll": {"id": "p"}})
        async with httpx.AsyncClient() as client:
            reply = await client.post(f"https://api.telegram.org/bot{TOKEN}/getUpdates")
        return reply.json()

    assert len(run(main())["result"]) == 1
    assert [e.method for e in fake_telegram.log] == ["getUpdates"]


def test_telegram_mock_lets_nothing_reach_the_network(telegram_mock: respx.MockRouter):
    with pytest.raises(respx.models.AllMockedAssertionError):
        httpx.get("https://example.com/")


# -- simbot_run and simulation: a user's own start-up, tested in a few lines ----------------

def readme_example() -> str:
    """The python block of README.md's "Testing your start-up in pytest" section, as it stands."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Testing your start-up in pytest", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_passes_as_written(pytester: pytest.Pytester):
    pytester.mkpydir("mybot")
    (pytester.path / "mybot" / "startup.py").write_text((ROOT / "tests" / "startup" / "custom.py").read_text())
    pytester.syspathinsert()
    pytester.makepyfile(test_startup=readme_example())
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_failed_assertion_shows_the_differences_the_timeline_and_a_replay_command(simbot_run, capsys):
    result = simbot_run("k8s_rolling_1", policy="naive", events=[(0, "start"), Event(20, "deploy")], horizon=90)
    assert result.scenario.horizon == 90 and result.outcome("single_poller") == "fail"
    with pytest.raises(AssertionError) as caught:
        result.assert_passes()
    message = str(caught.value)
    assert "  single_poller: fail\n" in message and "platform |" in message and "bot.v2 " in message
    assert "verdict: FAIL" in message
    command = message.splitlines()[-1]
    assert command.startswith("reproduce: simbot replay ")
    assert simbot(["replay", command.removeprefix("reproduce: simbot replay ")]) == 1  # the file fails the same way
    assert "single_poller: fail" in capsys.readouterr().out
    result.assert_outcomes(single_poller="fail", liveness="pass")
    with pytest.raises(AssertionError, match="liveness: expected fail, got pass"):
        result.assert_outcomes(liveness="fail")


def test_the_horizon_is_derived_like_the_matrix_and_the_start_up_may_be_the_function(simbot_run):
    from tests.startup.custom import patient

    s = simbot_run.scenario("render_worker", startup=patient)
    assert s.bot.startup == "tests.startup.custom:patient"  # named, so a failure can write a replayable file
    assert s.horizon == settled_horizon(PRESETS["render_worker"], 60.0) == 300.5
    assert simbot_run.scenario("render_worker", policy="lease", events=[(0, "start"), (100, "deploy", {})]).horizon == 340.5

    async def inline(app):  # not importable by name: run as the object itself
        await patient(app)

    assert simbot_run.scenario("k8s_rolling_1", startup=inline).bot.startup is inline


def test_a_bad_keyword_value_fails_with_the_scenario_files_message(pytester: pytest.Pytester):
    pytester.makepyfile(test_bad="def test_it(simbot_run):\n    simbot_run('render', policy='naive')\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["simbot_run: platform.preset: expected one of compose_recreate*got 'render'"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_the_simulation_fixture_for_tests_that_drive_a_simulation_themselves(simulation, simbot_run):
    from simbot.drivers.ptb import with_policy
    from simbot.platforms import preset
    from simbot.platforms.service import Service

    sim = simulation(horizon=120)
    service = Service(sim, preset("heroku_restart"), with_policy("naive"))
    sim.at(0, service.start)
    sim.at(30, service.restart)
    result = simbot_run.judge(sim.run())
    result.assert_passes()
    assert result.scenario is None and "bot.v1#2" in result.timeline()


# -- scenario files as test items ---------------------------------------------------------

SCENARIO = """\
description = "k8s rolling update, framework defaults: a short overlap"
seed = 1
horizon = 90
events = [{ at = 0, kind = "start" }, { at = 20, kind = "deploy" }]
[platform]
preset = "k8s_rolling_1"
[bot]
policy = "naive"
[expect]
single_poller = "%s"
liveness = "pass"
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with testpaths = tests and its scenario files in scen/ (outside testpaths)."""
    pytester.makeini("[pytest]\ntestpaths = tests\nsimbot_scenarios = scen\n")
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_unit.py").write_text("def test_unit():\n    pass\n")
    scen = pytester.mkdir("scen")
    (scen / "matches.toml").write_text(SCENARIO % "fail")
    (scen / "nested").mkdir()
    (scen / "nested" / "differs.toml").write_text(SCENARIO % "pass")
    (scen / "invalid.toml").write_text('horizon = 60\n[platform]\npreset = "render"\n')
    (scen / "unimportable.toml").write_text(SCENARIO.replace('policy = "naive"', 'startup = "nomodule:go"') % "pass")
    (pytester.path / "elsewhere.toml").write_text("not = 'a scenario'\n")
    return pytester


def test_a_plain_pytest_collects_the_configured_folders_too(project: pytest.Pytester):
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "--co", "-q")
    assert sorted(line for line in result.outlines if "::" in line) == [
        "scen/invalid.toml::expect", "scen/matches.toml::expect", "scen/nested/differs.toml::expect",
        "scen/unimportable.toml::expect", "tests/test_unit.py::test_unit",
    ]  # fmt: skip
    explicit = project.runpytest_inprocess("-p", "no:cacheprovider", "--co", "-q", "tests", "scen/matches.toml")
    assert [line for line in explicit.outlines if "::" in line] == ["tests/test_unit.py::test_unit", "scen/matches.toml::expect"]


def test_each_file_asserts_its_expect_and_says_how_to_replay_it(project: pytest.Pytester):
    result = project.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:logging", "-rf")
    result.assert_outcomes(passed=2, failed=3)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*_ scen/invalid.toml::expect _*",
        "scen/invalid.toml: platform.preset: expected one of compose_recreate*got 'render'",
        "*_ scen/nested/differs.toml::expect _*",
        "scen/nested/differs.toml differs from [expect]:",
        "  single_poller: expected pass, got fail",
        "k8s rolling update, framework defaults: a short overlap",
        "platform |*",
        "verdict: FAIL*",
        "reproduce: simbot replay scen/nested/differs.toml",
        "*_ scen/unimportable.toml::expect _*",
        "scen/unimportable.toml: bot.startup: expected an importable async function (entry point 'nomodule:go': cannot import 'nomodule'*",
    ])  # fmt: skip
    assert "Traceback" not in out and "raise ScenarioDiffers" not in out


def test_simbot_explore_adds_a_bounded_search_per_platform_as_test_items(pytester: pytest.Pytester):
    pytester.makepyfile(test_unit="def test_unit():\n    pass\n")
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--simbot-explore", "delay-probe-backoff", "--simbot-explore", "lease",
        "--simbot-platforms", "render_worker,ecs_default", "--simbot-examples", "3",
    )  # fmt: skip
    result.assert_outcomes(passed=3, failed=2)  # the incident's policy fails on both; the lease on neither
    result.stdout.fnmatch_lines([
        "*simbot-explore?delay-probe-backoff@render_worker?*",
        "delay-probe-backoff on render_worker fails single_poller in this scenario*",
        "reproduce: simbot replay *render_worker.toml",
        "search again: simbot explore --policy delay-probe-backoff --platform render_worker --examples 3 --seed 0",
    ])  # fmt: skip


def test_simbot_explore_with_a_bad_name_fails_with_a_message(pytester: pytest.Pytester):
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--simbot-explore", "yolo")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["--simbot-explore yolo on render_worker: expected one of naive*"])


def test_a_bot_that_never_works_fails_assert_passes_with_its_status_reason_and_crashes(simbot_run):
    result = simbot_run("k8s_recreate", entry="tests.report.bots:exits_three", events=[(0, "start")], horizon=200)
    assert result.status == "ERROR" and not result.passed and "pass" not in result.outcomes().values()
    with pytest.raises(AssertionError) as caught:
        result.assert_passes()
    message = str(caught.value)
    assert "  status: error (no instance ever sent a getUpdates: bot.v1" in message and "exited 3" in message
    assert "verdict: ERROR" in message
    assert "crashes (uncaught exceptions, unasked non-zero exits):" in message and "exit code 3" in message
    with pytest.raises(AssertionError, match="status: error"):
        result.assert_outcomes(lost_updates="fail")  # matching outcomes of a bot that never worked is no pass
    result.assert_outcomes(status="error")
    with pytest.raises(TypeError, match="status: expected one of pass, fail, inconclusive, error"):
        result.assert_outcomes(status="broken")


def test_findings_appear_in_a_failure_message(simbot_run):
    result = simbot_run("k8s_recreate", entry="tests.report.bots:uses_a_thread", events=[(0, "start")], horizon=200)
    assert result.status == "INCONCLUSIVE" and not result.passed  # it went on without the thread it asked for
    with pytest.raises(AssertionError) as caught:
        result.assert_outcomes(liveness="fail")
    assert "findings (what a simulation refuses or models" in str(caught.value) and "thread pool call" in str(caught.value)


# -- the bot as it is written: script / module / main / env ---------------------------------------


def test_a_script_is_relative_to_the_test_files_folder(simbot_run):
    from tests.checking.ready import BOTS

    s = simbot_run.scenario("k8s_recreate", script="checking/bots/echo_ptb.py", env={"MODE": "test"})
    assert s.bot.script == str(BOTS / "echo_ptb.py") and s.bot.env == {"MODE": "test"}
    assert s.horizon == settled_horizon(PRESETS["k8s_recreate"], 60.0)


def test_module_and_main_are_named_like_the_command_lines(simbot_run, monkeypatch):
    from tests.checking.ready import BOTS

    monkeypatch.chdir(BOTS)
    assert simbot_run.scenario("k8s_recreate", module="echopkg").bot.module == "echopkg"
    assert simbot_run.scenario("k8s_recreate", main="echopkg.app:main").bot.main == "echopkg.app:main"


def test_a_missing_script_fails_with_the_scenario_files_message(pytester: pytest.Pytester):
    pytester.makepyfile(test_bad="def test_it(simbot_run):\n    simbot_run('render_worker', script='bot.py')\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"simbot_run: bot.script: expected the bot's script, a file; {pytester.path}/bot.py does not exist"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_env_reaches_an_entry_and_a_bad_name_is_refused(simbot_run):
    result = simbot_run("k8s_recreate", entry="tests.checking.bots.entries:token_from_bot_token",
                        env={"BOT_TOKEN": "999:AAHsomeoneElsesTokenForTestsOnly1"})  # fmt: skip
    assert result.status == "ERROR"  # BOT_TOKEN from env won over the simulation's: 401, never polled
    with pytest.raises(pytest.fail.Exception, match=r"bot\.env: expected environment variable names"):
        simbot_run.scenario("k8s_recreate", policy="naive", env={"NOT-A-NAME": "x"})


@needs_program
def test_simbot_run_runs_a_script_as_it_is_written(simbot_run):
    result = simbot_run("render_worker", script="checking/bots/echo_ptb.py")
    result.assert_outcomes(single_poller="fail")
    simbot_run("k8s_recreate", script="checking/bots/echo_ptb.py").assert_passes()


def test_redis_gives_the_run_a_shared_redis_the_lock_bot_reaches(simbot_run):
    lock_bot = Path(__file__).parent.parent / "docs/examples/practices/redis_lock/ptb_bot.py"
    assert simbot_run.scenario("k8s_recreate", script=lock_bot, redis=True).services == ("redis",)
    simbot_run("render_worker", script=lock_bot, redis=True).assert_passes()
