"""The start-up practices of docs/practices.md, as written (docs/examples/practices/*/), through ``simbot check``.

Each example bot runs unmodified on two presets (seed 0, the check's default deploy); its status,
failed checks and 409 count are the ones docs/practices.md reports. The scenario files
(scenarios/practice-*.toml) are tests of their own [expect] through the plugin; the tests below
tie each characteristic failure to its practice: without the practice (the corpus echo bots, or
the same bot in another place) the failure goes away.
"""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path

import pytest

from simbot.check import CHECKS
from simbot.checking import command
from simbot.scenario.files import load
from simbot.scenario.run import replay

ROOT = Path(__file__).parent.parent.parent
PRACTICES = ROOT / "docs" / "examples" / "practices"
SCENARIOS = ROOT / "scenarios"
PLATFORMS = ("render_worker", "k8s_rolling_1")
SP = ["single_poller"]
# (practice, framework) -> preset -> (status, failed checks, 409s), measured with simbot check --json
VERDICTS = {
    ("startup_delay", "ptb"): {"render_worker": ("fail", SP, 14), "k8s_rolling_1": ("pass", [], 0)},
    ("startup_delay", "aiogram"): {"render_worker": ("fail", SP, 18), "k8s_rolling_1": ("pass", [], 0)},
    ("drop_pending", "ptb"): {"render_worker": ("fail", SP, 16), "k8s_rolling_1": ("fail", SP, 1)},
    ("drop_pending", "aiogram"): {"render_worker": ("fail", SP, 22), "k8s_rolling_1": ("fail", SP, 1)},
    ("retry_ladder", "ptb"): {"render_worker": ("fail", SP, 6), "k8s_rolling_1": ("fail", SP, 1)},
    ("retry_ladder", "aiogram"): {"render_worker": ("fail", SP, 22), "k8s_rolling_1": ("fail", SP, 1)},
    ("exit_on_conflict", "ptb"): {"render_worker": ("fail", SP, 1), "k8s_rolling_1": ("fail", SP, 1)},
    ("exit_on_conflict", "aiogram"): {"render_worker": ("fail", SP, 22), "k8s_rolling_1": ("fail", SP, 1)},
    ("host_lock", "ptb"): {"render_worker": ("fail", SP, 16), "k8s_rolling_1": ("fail", SP, 1)},
    ("host_lock", "aiogram"): {"render_worker": ("fail", SP, 22), "k8s_rolling_1": ("fail", SP, 1)},
    # with the run's shared Redis (simbot check --redis)
    ("redis_lock", "ptb"): {"render_worker": ("pass", [], 0), "k8s_rolling_1": ("pass", [], 0)},
    ("redis_lock", "aiogram"): {"render_worker": ("pass", [], 0), "k8s_rolling_1": ("pass", [], 0)},
    ("redis_owner", "ptb"): {"render_worker": ("fail", SP, 4), "k8s_rolling_1": ("fail", SP, 1)},
    ("redis_owner", "aiogram"): {"render_worker": ("fail", SP, 4), "k8s_rolling_1": ("fail", SP, 1)},
}


@cache
def check(practice: str, framework: str) -> dict:  # type: ignore[type-arg]
    out, err = io.StringIO(), io.StringIO()
    script = PRACTICES / practice / f"{framework}_bot.py"
    redis = practice.startswith("redis_")
    command(str(script), platforms=",".join(PLATFORMS), env=(), seed=0, as_json=True, out=out, err=err, redis=redis)
    return json.loads(out.getvalue())["platforms"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("practice", "framework"), sorted(VERDICTS))
def test_the_example_bot_gets_its_measured_verdict(practice: str, framework: str) -> None:
    report = check(practice, framework)
    for platform, (status, failed, conflicts) in VERDICTS[practice, framework].items():
        got = report[platform]
        assert got["crashes"] == [] and got["findings"] == [], got
        assert got["status"] == status, (platform, got)
        assert sorted(n for n, o in got["outcomes"].items() if o != "pass") == failed, (platform, got)
        assert sum(got["metrics"]["conflicts"].values()) == conflicts, (platform, got["metrics"])


def _run(name: str, **bot: str) -> tuple:  # type: ignore[type-arg]
    """Replay scenarios/NAME.toml, optionally with another [bot] script (absolute)."""
    scenario = load(SCENARIOS / f"{name}.toml")
    if bot:
        from dataclasses import replace

        scenario = replace(scenario, bot=replace(scenario.bot, **bot))
    trace, verdict, _ = replay(scenario)
    return trace, verdict


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_drop_pending_loses_what_arrived_while_the_task_was_replaced(framework: str) -> None:
    _, verdict = _run(f"practice-drop-pending-{framework}-ecs_default")
    assert verdict.outcome("lost_updates") == "fail" and verdict.outcome("single_poller") == "pass"
    echo = {"ptb": "ptb_echo", "aiogram": "aiogram_echo"}[framework]
    _, plain = _run(f"practice-drop-pending-{framework}-ecs_default", script=str(ROOT / "tests/bots" / echo / "bot.py"))
    assert {n: plain.outcome(n) for n in CHECKS} == dict.fromkeys(CHECKS, "pass")  # without the drop, nothing lost


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_drop_pending_loses_the_update_sent_during_a_stop_first_restart(framework: str) -> None:
    """Found by explore on every stop-first preset: the default deploy (an update every 10 s from 5 s, a deploy
    at 60 s) never sends one at the restart's instant, so its verdict there is PASS."""
    name = f"practice-drop-pending-restart-{framework}-compose_recreate"
    _, verdict = _run(name)
    assert verdict.outcome("lost_updates") == "fail" and verdict.outcome("single_poller") == "pass"
    assert [v.t for v in verdict.checks["lost_updates"].violations] == [15.0]  # sent with the deploy
    echo = {"ptb": "ptb_echo", "aiogram": "aiogram_echo"}[framework]
    _, plain = _run(name, script=str(ROOT / "tests/bots" / echo / "bot.py"))
    assert {n: plain.outcome(n) for n in CHECKS} == dict.fromkeys(CHECKS, "pass")


def test_the_ptb_ladder_gives_up_and_leaves_nobody_polling() -> None:
    trace, verdict = _run("practice-retry-ladder-ptb-docker_always")
    said = [o["text"] for o in trace.of("output") if o["instance"] == "bot.v1"]
    assert any("giving up on polling" in line for line in said), said
    assert not [e for e in trace.of("exit") if e["instance"] == "bot.v1"]  # alive: Docker sees nothing wrong
    assert verdict.outcome("liveness") == "fail" and verdict.outcome("lost_updates") == "fail"


def test_the_aiogram_ladder_never_runs() -> None:
    trace, verdict = _run("practice-retry-ladder-aiogram-docker_always")
    said = [o["text"] for o in trace.of("output")]
    assert not any("retry 1/3" in line for line in said)  # start_polling never raises TelegramConflictError
    assert any("TelegramConflictError" in line for line in said)  # aiogram logged and retried them itself
    assert verdict.outcome("liveness") == "pass" and verdict.outcome("single_poller") == "fail"


def test_exit_on_conflict_loops_under_restart_always() -> None:
    trace, _ = _run("practice-exit-on-conflict-ptb-docker_always")
    restarts = {e["instance"] for e in trace.of("exit") if e["instance"].startswith("bot.v1")}
    assert len(restarts) >= 5, restarts  # exits on each 409, Docker starts it again
    trace, _ = _run("practice-exit-on-conflict-aiogram-docker_always")
    assert {e["instance"] for e in trace.of("exit") if e["instance"].startswith("bot.")} == set()  # never exits


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_the_host_lock_stops_a_copy_on_the_same_machine_only(framework: str) -> None:
    trace, verdict = _run(f"practice-host-lock-same-host-{framework}-docker_always")
    [exit_] = [e for e in trace.of("exit") if e["instance"] == "by-hand"]
    assert (exit_["t"], exit_["code"]) == (30.0, 1)
    assert verdict.status == "PASS"
    _, verdict = _run(f"practice-host-lock-{framework}-render_worker")
    assert verdict.outcome("single_poller") == "fail"


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_the_redis_lock_keeps_one_poller_through_the_deploy_the_plain_bot_fails(framework: str) -> None:
    trace, verdict = _run(f"practice-redis-lock-{framework}-render_worker")
    assert verdict.status == "PASS", verdict.reason
    said = [(o["instance"], o["text"]) for o in trace.of("output")]
    assert any(who == "bot.v2" and "holds bot:lock, waiting" in text for who, text in said)  # it waited
    assert any(who == "bot.v1" and "Released bot:lock" in text for who, text in said)  # deleted after polling
    echo = {"ptb": "ptb_echo", "aiogram": "aiogram_echo"}[framework]
    _, plain = _run(f"practice-redis-lock-{framework}-render_worker", script=str(ROOT / "tests/bots" / echo / "bot.py"))
    assert plain.outcome("single_poller") == "fail"  # without the lock: Render's 60 s of two pollers


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_a_pause_longer_than_the_locks_ttl_gives_two_pollers_and_a_shorter_one_does_not(framework: str) -> None:
    from dataclasses import replace

    trace, verdict = _run(f"practice-redis-lock-pause-{framework}-render_worker")
    assert verdict.outcome("single_poller") == "fail" and verdict.outcome("liveness") == "fail"
    assert not trace.of("exit")  # nobody crashed: both simply poll
    scenario = load(SCENARIOS / f"practice-redis-lock-pause-{framework}-render_worker.toml")
    short = tuple(replace(e, params={**e.params, "seconds": 3}) if e.kind == "pause" else e for e in scenario.events)
    _, verdict = replay(replace(scenario, events=short))[:2]
    assert verdict.status == "PASS", verdict.reason  # renewed before the 6 s TTL ran out


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_the_owner_record_lets_the_old_worker_poll_until_its_next_check(framework: str) -> None:
    trace, verdict = _run(f"practice-redis-owner-{framework}-render_worker")
    kicks = [v.t for v in verdict.checks["single_poller"].violations]
    assert kicks and all(60 <= t <= 70 for t in kicks), kicks  # within one 10 s check after the deploy
    [exit_] = [e for e in trace.of("exit") if e["instance"] == "bot.v1"]
    assert exit_["code"] == 0 and exit_["t"] <= 70  # it stopped by itself, long before Render's SIGTERM


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_two_workers_claiming_the_owner_record_take_turns_under_a_restart_policy(framework: str) -> None:
    trace, verdict = _run(f"practice-redis-owner-two-workers-{framework}-render_worker")
    restarts = [e for e in trace.of("exit") if e["code"] == 0]
    assert len(restarts) >= 10, restarts  # each loses the record, exits 0, is restarted and claims it again
    assert verdict.outcome("single_poller") == "fail"


def test_without_the_redis_service_the_lock_bot_crashes_an_error_never_a_pass() -> None:
    out, err = io.StringIO(), io.StringIO()
    script = PRACTICES / "redis_lock" / "ptb_bot.py"
    code = command(str(script), platforms="k8s_rolling_1", env=(), seed=0, as_json=True, out=out, err=err)
    report = json.loads(out.getvalue())["platforms"]["k8s_rolling_1"]
    assert code == 1 and report["status"] == "error", report
    assert {c["type"] for c in report["crashes"]} == {"redis.exceptions.ConnectionError"}  # localhost:6379, refused


def test_a_run_with_the_shared_redis_is_byte_identical_when_replayed() -> None:
    first, _ = _run("practice-redis-lock-pause-ptb-render_worker")
    again, _ = _run("practice-redis-lock-pause-ptb-render_worker")
    assert first.jsonl() == again.jsonl()
