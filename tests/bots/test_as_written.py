"""The corpus bots as written, through ``simbot check``: the verdict their logic gets through today's contract.

Each bot file runs unmodified (``tests/bots/NAME/bot.py`` as ``__main__`` in every simulated
process) on two presets, seed 1, the README matrix's deploy; its status, every check's outcome
and the 409s and downtime must be those of its equivalent (``equivalents/*.toml``, replayed here).
The guards must never PASS: a bot that raises at import is an ERROR naming the crash, one that
never polls is an ERROR saying so, one that hangs in sync code is INCONCLUSIVE (the watchdog).
"""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path

import pytest

from simbot.check import CHECKS, judge
from simbot.checking import command
from simbot.scenario import Bot
from simbot.scenario.files import load
from simbot.scenario.run import build, replay

HERE = Path(__file__).parent
PLATFORMS = ("render_worker", "k8s_recreate")
# corpus bot -> the equivalent whose verdict it must get (tests/bots/README.md)
EQUIVALENT = {
    "ptb_incident": "incident-bot",
    "ptb_echo": "naive",
    "ptb_pidfile": "naive",
    "ptb_module_app": "naive-drop-pending",
    "aiogram_echo": "aiogram-naive",
    "aiogram_router": "aiogram-naive",
    "aiogram_webhook_cleanup": "aiogram-drop-pending",
}


def check(target: str, *env: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    """``simbot check TARGET --platform render_worker,k8s_recreate --seed 1 --json [--env …]``."""
    out, err = io.StringIO(), io.StringIO()
    code = command(target, platforms=",".join(PLATFORMS), env=env, seed=1, as_json=True, out=out, err=err)
    return code, json.loads(out.getvalue()), err.getvalue()


@cache
def as_written(bot: str) -> tuple[int, dict, str]:  # type: ignore[type-arg]
    return check(str(HERE / bot / "bot.py"))


@cache
def equivalent(stem: str, platform: str) -> dict:  # type: ignore[type-arg]
    _, verdict, _ = replay(load(HERE / "equivalents" / f"{stem}--{platform}.toml"))
    return {"status": verdict.status.lower(), "outcomes": {n: verdict.outcome(n) for n in CHECKS},
            "conflicts": verdict.metrics["conflicts"], "downtime": verdict.metrics["downtime"]}  # fmt: skip


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("bot", sorted(EQUIVALENT))
def test_the_bot_as_written_gets_its_equivalents_verdict(bot: str, platform: str) -> None:
    code, report, _ = as_written(bot)
    got = report["platforms"][platform]
    want = equivalent(EQUIVALENT[bot], platform)
    assert (got["status"], got["outcomes"]) == (want["status"], want["outcomes"]), got
    assert got["crashes"] == [] and got["findings"] == [], got
    assert sum(got["metrics"]["conflicts"].values()) == sum(want["conflicts"].values()), (got["metrics"], want)
    assert got["metrics"]["downtime"] == pytest.approx(want["downtime"], abs=0.01), (got["metrics"], want)
    assert code == 1  # render_worker fails for every corpus bot: exit 1


def test_the_incident_bot_fails_single_poller_on_render_and_passes_k8s_recreate() -> None:
    report = as_written("ptb_incident")[1]["platforms"]
    assert report["render_worker"]["outcomes"]["single_poller"] == "fail"  # its lock is per container
    assert report["k8s_recreate"]["status"] == "pass"


def test_what_the_bot_printed_reaches_stderr_never_stdout() -> None:
    _, _, err = as_written("ptb_incident")
    assert "-- render_worker: what the bot printed" in err
    assert "Waiting 10.0 s for the previous instance to finish" in err


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_bot_that_raises_at_import_is_an_error_naming_the_crash(platform: str) -> None:
    code, report, _ = as_written("raises_at_import")
    got = report["platforms"][platform]
    assert code == 1 and got["status"] == "error", got
    assert "pass" not in got["outcomes"].values(), got
    [crash] = got["crashes"]
    assert (crash["type"], crash["where"]) == ("KeyError", "bot.py:14 in <module>"), crash


def test_the_same_bot_with_the_setting_it_needs_runs() -> None:
    _, report, _ = check(str(HERE / "raises_at_import" / "bot.py"), "ADMIN_CHAT_ID=1")
    assert report["platforms"]["k8s_recreate"]["status"] == "pass", report
    assert report["platforms"]["render_worker"]["outcomes"]["single_poller"] == "fail"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_bot_that_never_polls_is_an_error_that_says_so(platform: str) -> None:
    code, report, _ = as_written("never_polls")
    got = report["platforms"][platform]
    assert code == 1 and got["status"] == "error", got
    assert got["reason"].startswith("no instance ever sent a getUpdates"), got["reason"]
    assert "pass" not in got["outcomes"].values(), got


def test_a_bot_that_hangs_in_sync_code_is_inconclusive_at_its_line() -> None:
    from simbot.matrix import deploy_scenario

    sim = build(deploy_scenario(Bot(script=str(HERE / "hangs_in_sync_code" / "bot.py")), "render_worker", 1))
    sim.watchdog = 0.5  # real seconds; simbot check allows 30
    verdict = judge(sim.run())
    assert verdict.status == "INCONCLUSIVE", verdict.describe()
    assert "cut short by the watchdog" in verdict.reason and "bot.py:27 in wait_for_migrations" in verdict.reason
    assert "pass" not in {verdict.outcome(n) for n in CHECKS}


def _stray_run(name: str) -> dict:  # type: ignore[type-arg]
    trace, verdict, differs = replay(load(HERE.parent.parent / "scenarios" / f"incident-bot-stray-{name}.toml"))
    assert differs == [], differs
    return {"trace": trace, "verdict": verdict}


def test_its_lock_stops_a_second_copy_started_on_the_same_host() -> None:
    trace = _stray_run("same-host")["trace"]
    [start] = trace.of("stray_start")
    assert (start["instance"], start["t"], start["host"]) == ("by-hand", 30.0, "bot.c1")  # replica 0's machine
    [exit_] = [e for e in trace.of("exit") if e["instance"] == "by-hand"]
    assert (exit_["t"], exit_["code"]) == (30.0, 0)  # at once: flock(LOCK_EX | LOCK_NB) found bot.v1's lock
    said = [o["text"] for o in trace.of("output") if o["instance"] == "by-hand"]
    assert any("Another instance is already running (/tmp/telegram_bot.lock is locked)" in line for line in said), said
    assert not [r for r in trace.of("request") if r["instance"] == "by-hand"]  # not even getMe


def test_on_another_host_the_same_lock_does_not_see_the_copy() -> None:
    run = _stray_run("other-host")
    polls = {r["instance"] for r in run["trace"].of("request") if r["method"] == "getUpdates"}
    assert polls == {"bot.v1", "laptop"}
    assert run["verdict"].outcome("single_poller") == "fail"


def test_the_same_trace_from_other_python_processes_and_checkout_directories(tmp_path: Path) -> None:
    """Two fresh interpreters (different hash seeds, working directories and copies of the bot) and
    this one: one digest. A path, an address or a hash order in the trace would split them."""
    import os
    import shutil
    import subprocess
    import sys

    digests = {as_written("ptb_incident")[1]["platforms"]["render_worker"]["digest"]}
    for i, place in enumerate(("a", "b/deeper/still")):
        folder = tmp_path / place
        shutil.copytree(HERE / "ptb_incident", folder)
        env = {**os.environ, "PYTHONHASHSEED": str(i + 1)}
        done = subprocess.run([sys.executable, "-m", "simbot", "check", "bot.py", "--platform", "render_worker",
                               "--seed", "1", "--json"], cwd=folder, env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert done.returncode == 1, done.stderr
        digests.add(json.loads(done.stdout)["platforms"]["render_worker"]["digest"])
    assert len(digests) == 1, digests


def test_a_crash_loop_on_ecs_is_replaced_every_10_s_and_judged_an_error() -> None:
    """ECS replaces a task that exits after RUNNING unthrottled, but a new task takes time to launch
    (docs/platforms.md §7): with no delay the loop never left t=0 and the watchdog cut the run."""
    from simbot.matrix import deploy_scenario

    trace = build(deploy_scenario(Bot(script=str(HERE / "raises_at_import" / "bot.py")), "ecs_default", 1)).run()
    starts = [e["t"] for e in trace.of("spawn")]
    assert starts[:3] == [0.0, 10.0, 20.0], starts[:5]
    assert judge(trace).status == "ERROR"


def test_a_bot_that_hangs_before_its_first_request_is_run_on_one_platform_only(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The other platforms would each spend the watchdog's budget to say the same: they say why they were not run."""
    import simbot.scenario.run as scenario_run

    real_build = scenario_run.build

    def quick(scenario):  # type: ignore[no-untyped-def]
        sim = real_build(scenario)
        sim.watchdog = 0.5
        return sim

    monkeypatch.setattr(scenario_run, "build", quick)
    code, report, _ = check(str(HERE / "hangs_in_sync_code" / "bot.py"))
    render, k8s = report["platforms"]["render_worker"], report["platforms"]["k8s_recreate"]
    assert code == 1 and render["status"] == "inconclusive" and "not_run" not in render
    assert k8s["status"] == "inconclusive" and k8s["not_run"] is True
    assert k8s["reason"].startswith("not run: on render_worker the bot never got past its own start-up code")
    assert "bot.py:27 in wait_for_migrations" in k8s["reason"]


def test_a_bot_that_exits_on_the_409_it_was_just_handed_still_overlapped() -> None:
    """ptb_os_exit: the old instance's error handler calls os._exit(0) on the 409, at the very
    instant the new one's poll kicked it. It was alive when kicked: a violation, not a ghost."""
    report = check(str(HERE / "ptb_os_exit" / "bot.py"))[1]["platforms"]
    render = report["render_worker"]
    assert render["outcomes"]["single_poller"] == "fail", render
    assert render["metrics"]["conflicts"] == {"bot.v1": 1}, render["metrics"]  # the 409 it got and exited on
    assert render["metrics"]["exit_codes"]["bot.v1"] == 0
    assert report["k8s_recreate"]["status"] == "pass"
    _, text = _timeline_of("ptb_os_exit", "render_worker")
    assert "bot.v2 kicked bot.v1" in text and "ghost" not in text


def _timeline_of(bot: str, platform: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = command(str(HERE / bot / "bot.py"), platforms=platform, seed=1, out=out, err=err)
    return code, out.getvalue()


def test_a_bot_with_a_health_server_on_its_port_is_judged_like_any_other() -> None:
    """ptb_health_port: aiohttp's web.TCPSite on $PORT, then polling. Each machine has its own port
    8080 (servers.py), so the deploy, not the harness, decides the verdict: PTB's defaults."""
    report = check(str(HERE / "ptb_health_port" / "bot.py"))[1]["platforms"]
    assert report["k8s_recreate"]["status"] == "pass", report["k8s_recreate"]
    assert report["render_worker"]["outcomes"]["single_poller"] == "fail"
    for platform in PLATFORMS:
        assert report[platform]["crashes"] == [] and report[platform]["findings"] == [], report[platform]
