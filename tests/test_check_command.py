"""``simbot check TARGET``: target forms, validation (exit 2), verdicts (exit 0/1), --json, --html."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simbot.check import CHECKS
from simbot.cli import main
from simbot.platforms import PRESETS
from simbot.scenario.targets import TargetError, bot_for, function_kind
from simbot.sim.simulation import DEFAULT_TOKEN
from tests.checking.ready import BOTS, needs_program

NAIVE = "simbot.drivers.ptb:naive"
TWO = "k8s_recreate,render_worker"  # the framework defaults pass the first and poll twice on the second


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- the target forms ---------------------------------------------------------------------------


def test_a_path_ending_in_py_or_an_existing_file_is_a_script(tmp_path: Path):
    assert bot_for(str(BOTS / "echo_ptb.py")).script == str(BOTS / "echo_ptb.py")
    plain = tmp_path / "bot"
    plain.write_text("print('hi')\n")
    assert bot_for("bot", base=tmp_path).script == str(plain)


def test_dash_m_is_a_module_found_from_the_working_directory(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(BOTS)
    assert bot_for("-m echopkg").module == "echopkg"
    assert bot_for("-m echopkg.app").module == "echopkg.app"


def test_a_function_without_arguments_is_a_main_and_one_taking_the_context_is_an_entry():
    assert bot_for("tests.checking.bots.echopkg.app:main").main == "tests.checking.bots.echopkg.app:main"
    assert bot_for(NAIVE).entry == NAIVE and bot_for(NAIVE).main is None


@pytest.mark.parametrize(("function", "kind"), [
    ("sync_main", "main"), ("async_main", "main"), ("entry", "entry"), ("conditional", "main"),
])  # fmt: skip
def test_the_rule_reads_the_definition_without_running_the_module(function: str, kind: str):
    # shapes.py raises on import: classifying it must not import it
    assert function_kind(f"tests.checking.bots.shapes:{function}") == kind


def test_a_re_exported_main_is_followed_to_its_definition():
    assert function_kind("tests.checking.bots.echopkg.run:main") == "main"


@pytest.mark.parametrize(("function", "message"), [
    ("needs_args", "requires token, chat"),
    ("keyword_only", "requires token"),
    ("startup", r"that is a start-up, async \(app\) -> None"),
    ("NotAFunction", "'NotAFunction' is a class"),
    ("assigned", "'assigned' is an assignment"),
    ("guarded", "'guarded' is not defined at module level"),
    ("missing", "'missing' is not defined at module level"),
])  # fmt: skip
def test_functions_that_are_neither_a_main_nor_an_entry_are_refused_with_what_they_are(function: str, message: str):
    with pytest.raises(TargetError, match=message):
        function_kind(f"tests.checking.bots.shapes:{function}")


# -- bad input: exit 2, naming the argument -------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["no_such_bot.py"], "TARGET: the bot's script, a file; "),
    (["-m", "no_such_module_anywhere"], "-m: an importable module; no module named 'no_such_module_anywhere'"),
    (["-m", "tests.checking.bots"], "-m: a module to run; 'tests.checking.bots' is a package without a __main__"),
    (["-m", "not a name"], "-m: a dotted module name"),
    (["tests.checking.bots.shapes:needs_args"], "TARGET: a function callable without arguments"),
    (["no_such_module_anywhere:main"], "TARGET: an importable module"),
    (["tests.checking"], "none of them (to run the module 'tests.checking', say -m tests.checking)"),
    ([], "TARGET: exactly one bot"),
    ([NAIVE, "-m", "echopkg"], "TARGET / -m: exactly one bot"),
    ([NAIVE, "--platform", "render_worker,heroku"], "--platform: unknown 'heroku'; expected one or more of"),
    ([NAIVE, "--platform", ","], "--platform: no preset given"),
    ([NAIVE, "--env", "NOEQUALS"], "--env: NAME=VALUE, got 'NOEQUALS'"),
    ([NAIVE, "--env", "1BAD=x"], "--env: environment variable names of letters, digits and _"),
    ([NAIVE, "--seed", "-1"], "--seed: a non-negative 64-bit integer"),
    (["--policy", "no-such-policy"], "--policy: expected one of"),
])  # fmt: skip
def test_bad_input_exits_2_with_a_message_naming_the_argument(capsys, argv: list[str], message: str):
    code, out, err = check(capsys, *argv)
    assert (code, out) == (2, "")
    assert message in err
    assert "Traceback" not in err


def test_an_html_path_that_is_a_file_is_bad_input(capsys, tmp_path: Path):
    (tmp_path / "page").write_text("")
    code, _, err = check(capsys, NAIVE, "--platform", "k8s_recreate", "--html", str(tmp_path / "page"))
    assert code == 2 and "--html: a folder for one page per platform" in err


def test_a_target_kind_this_simbot_cannot_run_yet_is_said_so(capsys, monkeypatch: pytest.MonkeyPatch):
    from simbot.sim import program

    def not_yet(path: str, argv: object = ()) -> None:
        raise NotImplementedError("simbot: script targets are not built yet")

    monkeypatch.setattr(program, "script", not_yet)
    code, out, err = check(capsys, str(BOTS / "echo_ptb.py"), "--platform", "k8s_recreate")
    assert (code, out) == (2, "") and "cannot run this kind of target yet" in err


# -- verdicts and exit codes ----------------------------------------------------------------------


def test_every_platform_passing_exits_0_and_one_failing_exits_1(capsys):
    code, out, _ = check(capsys, NAIVE, "--platform", "k8s_recreate")
    assert code == 0
    assert "== k8s_recreate: PASS" in out and "1 of 1 platforms pass" in out
    code, out, _ = check(capsys, NAIVE, "--platform", TWO)
    assert code == 1
    assert "== render_worker: FAIL" in out and "single_poller  fail" in out
    assert "render_worker  FAIL         single_poller fail" in out and "1 of 2 platforms pass (exit 1)" in out


def test_the_default_is_every_preset_and_a_failing_simulation_is_an_error(capsys, monkeypatch: pytest.MonkeyPatch):
    from simbot import checking
    from simbot.matrix import deploy_scenario

    ran: list[str] = []

    def broken(bot: object, platform: str, seed: int, services: tuple[str, ...] = (),
               public_url: str | None = None) -> checking.PlatformRun:
        ran.append(platform)
        return checking.PlatformRun(platform, deploy_scenario(bot, platform, seed), failure="RuntimeError: boom")  # type: ignore[arg-type]

    monkeypatch.setattr(checking, "run_platform", broken)
    code, out, _ = check(capsys, NAIVE, "--json")
    assert ran == sorted(PRESETS)
    report = json.loads(out)
    assert code == 1 and report["passed"] is False
    assert report["platforms"]["k8s_recreate"]["reason"] == "the simulation itself failed: RuntimeError: boom"
    assert set(report["platforms"]["k8s_recreate"]["outcomes"].values()) == {"error"}


def test_an_error_is_never_a_pass_and_exits_1(capsys):
    code, out, _ = check(capsys, "tests.checking.bots.entries:baked_token", "--platform", "k8s_recreate", "--json")
    report = json.loads(out)
    assert code == 1 and report["passed"] is False
    assert report["platforms"]["k8s_recreate"]["status"] == "error"


def test_a_bot_polling_with_another_token_is_told_which_variable_to_set(capsys):
    code, out, _ = check(capsys, "tests.checking.bots.entries:baked_token", "--platform", "k8s_recreate")
    assert code == 1 and "== k8s_recreate: ERROR" in out
    assert "the bot sent requests with the token 777777:…, not the simulation's" in out
    assert f"pass --env THAT_VARIABLE={DEFAULT_TOKEN}" in out
    assert "AAHdevTokenLeftInTheCodeForTestsOnly, not" not in out  # the secret is not repeated by simbot


def test_the_common_token_variables_hold_the_simulations_token_unless_env_gives_them(capsys):
    code, _, _ = check(capsys, "tests.checking.bots.entries:token_from_bot_token", "--platform", "k8s_recreate")
    assert code == 0
    code, out, _ = check(capsys, "tests.checking.bots.entries:token_from_bot_token", "--platform", "k8s_recreate",
                         "--env", "BOT_TOKEN=999:AAHsomeoneElsesTokenForTestsOnly1")  # fmt: skip
    assert code == 1 and "the token 999:…" in out


def test_a_start_up_policy_is_checked_with_dash_dash_policy(capsys):
    code, out, _ = check(capsys, "--policy", "lease", "--platform", "render_worker")
    assert code == 0 and "== render_worker: PASS" in out


# -- --json and --html ----------------------------------------------------------------------------


def test_json_is_one_object_on_stdout_with_each_platforms_verdict(capsys):
    code, out, _ = check(capsys, NAIVE, "--platform", TWO, "--json", "--seed", "3", "--env", "MODE=test")
    report = json.loads(out)  # the whole of stdout
    assert code == 1
    assert set(report) == {"target", "seed", "env", "passed", "platforms"}
    assert (report["target"], report["seed"], report["env"], report["passed"]) == (NAIVE, 3, ["MODE"], False)
    assert list(report["platforms"]) == ["k8s_recreate", "render_worker"]
    for verdict in report["platforms"].values():
        assert {"status", "reason", "outcomes", "metrics", "crashes", "findings", "notes"} <= set(verdict)
        assert set(verdict["outcomes"]) == set(CHECKS)
    assert report["platforms"]["k8s_recreate"]["status"] == "pass"
    render = report["platforms"]["render_worker"]
    assert render["status"] == "fail" and render["outcomes"]["single_poller"] == "fail"
    assert render["metrics"]["conflicts"]


def test_json_stdout_stays_pure_when_the_bot_prints(capsys):
    code, out, err = check(capsys, "tests.checking.bots.entries:chatty", "--platform", "k8s_recreate", "--json")
    assert code == 0 and json.loads(out)["passed"] is True
    assert "chatty bot: starting up" in err  # the bot's output is not lost: it goes to stderr


def test_json_is_the_same_for_the_same_seed(capsys):
    first = check(capsys, NAIVE, "--platform", "render_worker", "--json")[1]
    assert check(capsys, NAIVE, "--platform", "render_worker", "--json")[1] == first


def test_html_writes_one_page_per_platform(capsys, tmp_path: Path):
    code, _, err = check(capsys, NAIVE, "--platform", TWO, "--html", str(tmp_path / "pages"))
    assert code == 1
    pages = sorted(p.name for p in (tmp_path / "pages").iterdir())
    assert pages == ["k8s_recreate.html", "render_worker.html"]
    assert "<html" in (tmp_path / "pages" / "render_worker.html").read_text().lower()
    assert f"wrote {tmp_path / 'pages' / 'render_worker.html'}" in err


# -- the bot as it is written (switch on when simbot.sim.program lands) ----------------------------


@needs_program
def test_a_ptb_script_fails_single_poller_on_render_and_passes_k8s_recreate(capsys):
    code, out, err = check(capsys, str(BOTS / "echo_ptb.py"), "--platform", TWO, "--json")
    report = json.loads(out)  # the bot's print and its logging stay off stdout
    assert code == 1
    assert report["platforms"]["k8s_recreate"]["status"] == "pass"
    assert report["platforms"]["render_worker"]["outcomes"]["single_poller"] == "fail"
    assert "echo bot starting" in err


@needs_program
@pytest.mark.parametrize("platform", ["k8s_recreate", "render_worker"])
def test_script_module_and_main_give_the_verdict_of_the_same_logic_through_the_contract(capsys, monkeypatch,
                                                                                        platform: str):  # fmt: skip
    def outcomes(*argv: str) -> dict[str, str]:
        return json.loads(check(capsys, *argv, "--platform", platform, "--json")[1])["platforms"][platform]["outcomes"]

    contract = outcomes(NAIVE)
    assert outcomes(str(BOTS / "echo_ptb.py")) == contract
    monkeypatch.chdir(BOTS)
    assert outcomes("-m", "echopkg") == contract
    assert outcomes("echopkg.app:main") == contract


@needs_program
def test_an_aiogram_script_gives_the_verdict_of_the_aiogram_driver(capsys):
    def outcomes(target: str) -> dict[str, str]:
        report = json.loads(check(capsys, target, "--platform", "k8s_recreate", "--json")[1])
        return report["platforms"]["k8s_recreate"]["outcomes"]

    assert outcomes(str(BOTS / "echo_aiogram.py")) == outcomes("simbot.drivers.aiogram:naive")


@needs_program
def test_a_script_that_raises_at_import_is_an_error_not_a_pass(capsys):
    code, out, _ = check(capsys, str(BOTS / "raises_at_import.py"), "--platform", "k8s_recreate", "--json")
    verdict = json.loads(out)["platforms"]["k8s_recreate"]
    assert code == 1 and verdict["status"] == "error"
    assert "configuration missing" in json.dumps(verdict["crashes"])


@needs_program
def test_a_script_with_its_own_token_is_an_error_until_env_gives_the_simulations(capsys):
    code, out, _ = check(capsys, str(BOTS / "wrong_token.py"), "--platform", "k8s_recreate")
    assert code == 1 and "--env THAT_VARIABLE=" in out
    code, _, _ = check(capsys, str(BOTS / "wrong_token.py"), "--platform", "k8s_recreate",
                       "--env", f"MYBOT_SECRET={DEFAULT_TOKEN}")  # fmt: skip
    assert code == 0


@needs_program
def test_a_script_targets_verdict_is_the_same_from_any_checkout_directory(capsys, tmp_path: Path):
    import shutil

    digests = []
    for name in ("one", "another/deeper"):
        shutil.copy(BOTS / "echo_ptb.py", (tmp_path / name).mkdir(parents=True) or tmp_path / name / "bot.py")
        report = json.loads(check(capsys, str(tmp_path / name / "bot.py"), "--platform", "render_worker", "--json")[1])
        digests.append(report["platforms"]["render_worker"]["digest"])
    assert digests[0] == digests[1]


def test_a_script_python_cannot_compile_is_bad_input_naming_its_line(capsys, tmp_path: Path):
    (tmp_path / "bot.py").write_text("def main()\n    pass\n")
    code, out, err = check(capsys, str(tmp_path / "bot.py"))
    assert (code, out) == (2, "")
    assert err.strip() == f"simbot check: TARGET: a Python script; {tmp_path / 'bot.py'} line 1: expected ':'"


def test_an_html_folder_that_cannot_be_made_is_bad_input_naming_it(capsys, tmp_path: Path):
    (tmp_path / "a-file").write_text("")
    code, out, err = check(capsys, NAIVE, "--platform", "k8s_recreate", "--html", str(tmp_path / "a-file" / "pages"))
    assert (code, out) == (2, "")
    assert err.strip() == f"simbot check: --html: a folder that can be created; {tmp_path / 'a-file' / 'pages'}: Not a directory"


def test_dash_dash_redis_gives_every_process_a_shared_redis_unless_env_points_elsewhere(capsys):
    lock_bot = str(Path(__file__).parent.parent / "docs/examples/practices/redis_lock/ptb_bot.py")
    code, out, _ = check(capsys, lock_bot, "--platform", "k8s_recreate", "--redis")
    assert code == 0 and "a shared Redis at redis:6379" in out and "== k8s_recreate: PASS" in out
    code, out, _ = check(capsys, lock_bot, "--platform", "k8s_recreate", "--redis", "--json")
    assert code == 0 and json.loads(out)["services"] == ["redis"]
    code, out, _ = check(capsys, lock_bot, "--platform", "k8s_recreate")  # no Redis: its default localhost, refused
    assert code == 1 and "== k8s_recreate: ERROR" in out and "Connect call failed ('localhost', 6379)" in out
    code, out, _ = check(capsys, lock_bot, "--platform", "k8s_recreate", "--redis", "--env", "REDIS_URL=redis://db:6379/0")
    assert code == 1 and "connection to db:6379" in out  # the user's --env wins; db is no host of the run


OWN_DOMAIN = str(Path(__file__).parent / "sim" / "programs" / "ptb_webhook_own_domain.py")


def test_a_webhook_on_the_bots_own_domain_is_an_error_naming_the_host_until_public_url_gives_it(capsys):
    """The tutorials' bot types its app's domain into the code: the run has no such host, so nothing is
    delivered. That is an ERROR saying so and how to give the address, never a silent FAIL or a PASS."""
    pytest.importorskip("telegram")
    code, out, _ = check(capsys, OWN_DOMAIN, "--platform", "render_web,render_worker")
    assert code == 1
    web, worker = out.split("== render_worker")
    assert "reason: the bot set its webhook to a host this run does not have (my-echo-bot.herokuapp.com)" in web
    assert "run with --public-url https://my-echo-bot.herokuapp.com" in web
    assert ("reason: the bot set a webhook (https://my-echo-bot.herokuapp.com/…) but this platform routes no "
            "HTTP to it (a worker service)") in worker
    code, out, _ = check(capsys, OWN_DOMAIN, "--platform", "render_web,heroku_web_preboot",
                         "--public-url", "https://my-echo-bot.herokuapp.com")  # fmt: skip
    assert code == 0, out
    assert "2 of 2 platforms pass" in out


@pytest.mark.parametrize("url", ["http://my-bot.onrender.com", "https://my-bot.onrender.com/telegram", "my-bot"])
def test_a_public_url_that_is_not_an_https_address_is_bad_input(capsys, url: str):
    code, _, err = check(capsys, OWN_DOMAIN, "--public-url", url)
    assert code == 2
    assert "simbot check: --public-url: expected the service's https address without a path" in err and repr(url) in err


def test_a_webhook_server_on_another_port_than_port_is_an_error_saying_which(capsys):
    """The edge forwards to $PORT only (docs/platforms.md §5.2): a server on a port of its own choosing
    never gets a POST, and the reason says which port it chose and which one the platform uses."""
    pytest.importorskip("telegram")
    code, out, _ = check(capsys, OWN_DOMAIN, "--platform", "render_web", "--env", "PORT=8080",
                         "--public-url", "https://my-echo-bot.herokuapp.com")  # fmt: skip
    assert code == 1
    assert ("reason: no instance ever sent a getUpdates or answered a webhook POST: bot.v1, bot.v2 listened on "
            "port 8080, but the platform forwards to PORT=10000: listen on int(os.environ['PORT'])") in out
