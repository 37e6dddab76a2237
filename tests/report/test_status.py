"""The verdict's status: a run that cannot be trusted never reads PASS (docs/checkers.md, "Status").

Hand-built traces pin the rules; real bots that raise, never poll, spin or loop pin the
whole path through ``simbot replay`` (text and JSON) to a non-zero exit.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest

from simbot.check import ERROR, FAIL, INCONCLUSIVE, PASS, judge
from simbot.check.verdict import overlapping_pairs
from simbot.cli import main
from simbot.scenario import Bot, Event, Scenario, Updates, simulate
from simbot.sim.trace import Trace
from tests.sim.test_checkers import Builder


def polling(b: Builder, name: str, start: float, end: float) -> Builder:
    for t in range(int(start), int(end), 10):
        b.poll(t, name, until=min(t + 10, end))
    return b


def with_meta(trace: Trace, **meta: Any) -> Trace:
    return Trace(trace.records, horizon=trace.horizon, meta=meta)


# -- the rules, on hand-built traces ------------------------------------------------------


def test_a_complete_clean_run_passes_with_a_reason():
    v = judge(with_meta(polling(Builder().spawn(0, "a"), "a", 0, 300).trace(300), ended_by="horizon"))
    assert (v.status, v.passed, v.trusted) == (PASS, True, True) and v.reason == "all 4 checks pass"


def test_a_run_cut_by_the_watchdog_is_inconclusive_and_says_when_who_and_where():
    b = polling(Builder().spawn(0, "bot.v2"), "bot.v2", 0, 200)
    b.event(433835.0, "watchdog", "bot.v2", seconds=30.0, where="httpx/_urlparse.py:302 in urlparse")
    v = judge(with_meta(b.trace(30 * 86400), ended_by="watchdog"))
    assert v.status == INCONCLUSIVE and not v.passed and not v.trusted
    assert v.reason == ("cut short by the watchdog after 30 real seconds at t=433835 s: "
                        "bot.v2 was running at httpx/_urlparse.py:302 in urlparse")  # fmt: skip
    assert {v.outcome(n) for n in v.checks} == {"inconclusive"}  # liveness would have failed: nobody polls after 200 s
    assert v.metrics["downtime"] == pytest.approx(433835.0 - 200.0)  # judged up to the cut, not the horizon
    text, data = v.describe(), v.to_json()
    assert "verdict: INCONCLUSIVE" in text and "reason: cut short by the watchdog" in text
    assert data["status"] == "inconclusive" and data["cut_short"] == {"t": 433835.0, "by": "watchdog"}


def test_a_violation_seen_before_the_cut_is_still_a_fail_with_the_cut_shown():
    b = Builder().spawn(0, "a").spawn(10, "b")
    first = b.poll(0, "a", until=13, status=409)
    second = b.poll(10, "b", until=40)
    b.link(first, second)
    v = judge(with_meta(b.trace(300), ended_by="step limit: more than 10000 loop steps"))
    assert v.status == FAIL and v.outcome("single_poller") == "fail"
    assert v.outcome("liveness") == "inconclusive" and v.outcome("lost_updates") == "inconclusive"
    assert "cut short at t=40 s by the step limit: more than 10000 loop steps" in v.reason


def test_an_unknown_ending_is_not_trusted_either():
    v = judge(with_meta(polling(Builder().spawn(0, "a"), "a", 0, 300).trace(300), ended_by="memory bound"))
    assert v.status == INCONCLUSIVE and "memory bound" in v.reason


def test_a_bot_that_never_polled_is_an_error_naming_each_instance_and_no_check_passes():
    b = Builder().spawn(0, "bot.v1").spawn(60, "bot.v2").spawn(70, "bot.v3")
    b.event(0.5, "uncaught", "bot.v1", type="ValueError", message="no token at 0x7f3a12ab", where="bot.py:12 in main")
    b.exit(0.5, "bot.v1", code=1).exit(61, "bot.v2", code=0)
    b.event(300, "deadlock", "bot.v3", waiting_on=["bot.py:20 in main"])
    v = judge(with_meta(b.trace(300), ended_by="deadlock"))
    assert v.status == ERROR and not v.passed
    assert v.reason == ("no instance ever sent a getUpdates: bot.v1 raised ValueError: no token at 0x… at bot.py:12 "
                        "in main; bot.v2 exited 0; bot.v3 deadlocked waiting on bot.py:20 in main")  # fmt: skip
    assert "pass" not in {v.outcome(n) for n in v.checks} and v.outcome("single_poller") == "error"
    [crash] = v.crashes
    assert (crash.type, crash.where, crash.count) == ("ValueError", "bot.py:12 in main", 1)


def test_a_bot_still_booting_at_the_end_is_an_error_too():
    v = judge(with_meta(Builder().spawn(0, "bot.v1").trace(30), ended_by="horizon"))
    assert v.status == ERROR and "bot.v1 was still booting at the end of the run (t=30 s)" in v.reason


def test_instances_that_all_crashed_after_polling_are_an_error_counting_the_crashes():
    b = Builder()
    for i, t in enumerate((0, 50, 100)):
        name = f"bot.v1#{i + 1}"
        b.spawn(t, name).poll(t + 1, name, until=t + 20)
        b.event(t + 20, "uncaught", name, type="KeyError", message="'session'", where="bot.py:7 in handle")
        b.exit(t + 20, name, code=1)
    v = judge(with_meta(b.trace(300), ended_by="quiet"))
    assert v.status == ERROR
    assert v.reason == ("every instance crashed (3 crash(es)): KeyError: 'session' at bot.py:7 in handle  ×3 "
                        "(bot.v1#1, bot.v1#2, bot.v1#3, first at t=20 s)")  # fmt: skip


def test_a_crash_the_platform_recovered_from_is_listed_but_the_verdict_stands():
    b = Builder().spawn(0, "bot.v1")
    b.poll(0, "bot.v1", until=20)
    b.event(20, "uncaught", "bot.v1", type="KeyError", message="'session'", where="bot.py:7 in handle")
    b.exit(20, "bot.v1", code=1)
    polling(b.spawn(25, "bot.v1#2"), "bot.v1#2", 25, 300)
    v = judge(with_meta(b.trace(300), ended_by="horizon"))
    assert v.status == PASS and [c.type for c in v.crashes] == ["KeyError"]
    assert "crashes" in v.describe() and "KeyError: 'session' at bot.py:7 in handle  ×1" in v.describe()
    assert v.to_json()["crashes"][0]["instances"] == ["bot.v1"]


def test_a_platform_kill_is_not_a_crash_but_an_unasked_exit_code_is():
    b = Builder().spawn(0, "a").spawn(0, "b")
    polling(b, "a", 0, 300)
    b.event(50, "kill", "b").exit(50, "b", code=137)
    assert judge(b.trace(300)).crashes == []
    b2 = polling(Builder().spawn(0, "a").spawn(0, "b"), "a", 0, 300).exit(50, "b", code=3)
    assert [c.type for c in judge(b2.trace(300)).crashes] == ["exit code 3"]


def test_findings_are_grouped_and_counted_in_text_and_json():
    b = polling(Builder().spawn(0, "a").spawn(0, "b"), "a", 0, 300)
    for t, who in ((1, "a"), (2, "b"), (3, "a")):
        b.event(t, "finding", who, what="thread pool call 'sum'", where="bot.py:3 in main")
    b.event(4, "finding", "a", what="connection to example.org:443", where="bot.py:9 in fetch")
    v = judge(b.trace(300))
    assert [(f.what, f.count, f.instances) for f in v.findings] == [
        ("thread pool call 'sum'", 3, ("a", "b")), ("connection to example.org:443", 1, ("a",))]
    assert "thread pool call 'sum' at bot.py:3 in main  ×3 (a, b, first at t=1 s)" in v.describe()
    assert v.to_json()["findings"][0]["count"] == 3


def test_an_empty_expectation_needs_a_pass_and_an_error_differs_from_any_expectation_but_its_own():
    v = judge(with_meta(Builder().spawn(0, "bot.v1").trace(30), ended_by="horizon"))
    assert v.differences({}) and v.differences({"lost_updates": "pass"})[0].startswith("status: error")
    assert v.differences({"status": "error"}) == []
    ok = judge(with_meta(polling(Builder().spawn(0, "a"), "a", 0, 300).trace(300), ended_by="horizon"))
    assert ok.differences({}) == [] and ok.differences({"status": "fail"}) == [
        "status: expected fail, got pass (all 4 checks pass)"]


def test_lifetime_overlaps_by_sweep_equal_the_pairwise_definition():
    rng = random.Random(7)
    for _ in range(200):
        lifetimes = [(b, b + rng.choice([0, 0.5, 1, 2, 5])) for b in (rng.choice(range(10)) * 0.5 for _ in range(12))]
        pairwise = sum(1 for i, (ba, da) in enumerate(lifetimes) for bb, db in lifetimes[i + 1:]
                       if max(ba, bb) < min(da, db))  # fmt: skip
        assert overlapping_pairs(lifetimes) == pairwise


# -- real bots, through simbot replay ---------------------------------------------------------


def scenario_file(tmp_path: Path, entry: str, horizon: float = 120, **extra: str) -> Path:
    lines = [f'seed = 0\nhorizon = {horizon}\nevents = [{{ at = 0, kind = "start" }}]',
             '[platform]\npreset = "k8s_recreate"', f'[bot]\nentry = "{entry}"', "[updates]\nevery = 10.0"]  # fmt: skip
    if extra:
        lines.append("[expect]\n" + "\n".join(f'{k} = "{v}"' for k, v in extra.items()))
    path = tmp_path / "case.toml"
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return path


def replay(path: Path, *args: str) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as mp:
        out = io.StringIO()
        mp.setattr("sys.stdout", out)
        code = main(["replay", str(path), *args])
    return code, out.getvalue()


def test_a_bot_that_raises_in_its_entry_is_an_error_and_replay_exits_non_zero(tmp_path: Path):
    path = scenario_file(tmp_path, "tests.report.bots:raises_in_entry", single_poller="pass")
    code, text = replay(path)
    assert code == 1 and "verdict: ERROR" in text and "no instance ever sent a getUpdates" in text
    assert "single_poller  error" in text and "single_poller: expected pass, got error" in text
    code, out = replay(path, "--json")
    data = json.loads(out)
    assert code == 1 and data["status"] == "error" and not data["matches"]
    assert data["verdict"]["checks"]["single_poller"]["outcome"] == "error"


@pytest.mark.parametrize(("entry", "named"), [
    ("tests.report.bots:raises_in_entry", "raised ValueError: no token configured at tests/report/bots.py:16"),
    ("tests.report.bots:raises_at_import", "raised RuntimeError: settings.toml is missing at tests/report/broken.py:3"),
])  # fmt: skip
def test_the_error_names_the_exception_and_the_line(tmp_path: Path, entry: str, named: str):
    code, text = replay(scenario_file(tmp_path, entry))
    assert code == 1 and named in text


def test_an_expected_error_status_matches_and_a_bad_status_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, text = replay(scenario_file(tmp_path, "tests.report.bots:raises_in_entry", status="error"))
    assert code == 0 and "verdict: ERROR" in text
    code, _ = replay(scenario_file(tmp_path, "tests.report.bots:raises_in_entry", status="crashed"))
    assert code == 2 and "expect.status: expected one of pass, fail, inconclusive, error" in capsys.readouterr().err


def test_a_bot_that_never_polls_is_an_error_and_single_poller_does_not_pass(tmp_path: Path):
    code, text = replay(scenario_file(tmp_path, "tests.report.bots:never_polls"))
    assert code == 1 and "verdict: ERROR" in text and "bot.v1 deadlocked waiting on never_polls at tests/report/bots.py:24 (in Event.wait)" in text
    assert "single_poller  error" in text


def test_a_crash_loop_with_no_message_is_an_error(tmp_path: Path):
    code, out = replay(scenario_file(tmp_path, "tests.report.bots:exits_three", horizon=300), "--json")
    data = json.loads(out)
    assert code == 1 and data["status"] == "error" and data["crashes"][0]["type"] == "exit code 3"
    assert data["crashes"][0]["count"] > 1  # the platform restarted it, again and again


def test_a_run_cut_by_the_step_limit_is_inconclusive_in_text_and_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from simbot.sim import simulation

    original = simulation.Simulation.__init__
    monkeypatch.setattr(simulation.Simulation, "__init__",
                        lambda self, **kw: original(self, **{**kw, "max_steps": 200_000}))  # fmt: skip
    path = scenario_file(tmp_path, "tests.report.bots:busy")
    code, text = replay(path)
    assert code == 1 and "verdict: INCONCLUSIVE" in text and "cut short at t=20 s by the step limit" in text
    code, out = replay(path, "--json")
    assert json.loads(out)["cut_short"]["by"].startswith("step limit")


def test_a_run_cut_by_the_watchdog_is_inconclusive_and_names_the_line():
    from simbot.sim.simulation import Simulation

    sim = Simulation(seed=0, horizon=120, watchdog=0.3)
    sim.at(0, lambda: sim.spawn("bot.v1", "tests.report.bots:spins"))
    v = judge(sim.run())
    assert v.status == INCONCLUSIVE and "cut short by the watchdog" in v.reason
    assert "bot.v1 was running at tests/report/bots.py" in v.reason or "bots.py:" in v.reason


def test_findings_reach_the_replay_text_and_json(tmp_path: Path):
    path = scenario_file(tmp_path, "tests.report.bots:uses_a_thread")
    code, text = replay(path)  # the bot went on without its thread: not a pass, and the file expected one
    assert code == 1 and "findings (what a simulation refuses or models" in text and "thread pool call" in text
    assert "the bot tried what a simulation refuses (thread pool call" in text
    data = json.loads(replay(path, "--json")[1])
    assert data["findings"] and data["findings"][0]["count"] == 1 and data["status"] == "inconclusive"


def test_a_real_crash_after_polling_is_listed_and_the_restarted_bot_passes():
    trace = simulate(Scenario(seed=0, horizon=200, platform="k8s_recreate", bot=Bot(entry="tests.report.bots:crashes_once"),
                              events=(Event(0.0, "start"),), updates=Updates(every=10.0)))  # fmt: skip
    v = judge(trace)
    assert v.status == PASS, v.describe()
    assert len(v.crashes) == 1 and v.crashes[0].instances == ("bot.v1",)


def test_a_crash_loops_json_names_twenty_instances_and_counts_the_rest():
    from simbot.check.status import Crash

    loop = Crash("KeyError", "'ADMIN_CHAT_ID'", "bot.py:14 in <module>", 1000,
                 tuple(f"bot.v1#{i}" for i in range(1000)), 0.0)  # fmt: skip
    as_json = loop.to_json()
    assert as_json["instances"] == [f"bot.v1#{i}" for i in range(20)]
    assert (as_json["more_instances"], as_json["count"]) == (980, 1000)


def test_a_refused_escape_turns_a_pass_into_inconclusive_but_a_modelled_one_does_not():
    def run(what: str):  # type: ignore[no-untyped-def]
        b = polling(Builder().spawn(0, "a"), "a", 0, 300)
        b.event(4, "finding", "a", what=what, where="bot.py:9 in start")
        return judge(with_meta(b.trace(300), ended_by="horizon"))

    refused = run("connection to redis:6379")
    assert refused.status == INCONCLUSIVE and all(c.passed for c in refused.checks.values())
    assert refused.reason.startswith("the bot tried what a simulation refuses (connection to redis:6379 at bot.py:9")
    assert refused.to_json()["findings"][0]["refused"] is True
    assert "[modelled" not in refused.findings[0].line()
    for modelled in ("blocking time.sleep(2)", "os._exit(0)"):
        assert run(modelled).status == PASS, modelled
        assert run(modelled).findings[0].line().endswith("  [modelled: carried out as asked]")


def test_a_duplicate_seen_before_the_cut_is_still_a_fail():
    b = Builder().spawn(0, "a").spawn(0, "b").event(1, "push", None, update_id=1)
    b.poll(5, "a", until=6, update_ids=(1,))
    b.poll(6, "a", until=7, offset=2)  # a confirmed 1 ...
    b.poll(10, "b", until=11, update_ids=(1,))  # ... and b got it again
    v = judge(with_meta(b.trace(300), ended_by="step limit: more than 10000 loop steps"))
    assert v.status == FAIL and v.outcome("duplicates") == "fail"


def test_a_bot_that_only_called_other_methods_never_polled_and_is_an_error():
    b = Builder().spawn(0, "a")
    b.records.append({"t": 1, "kind": "request", "id": 99, "instance": "a", "method": "getMe", "params": {},
                      "status": 200, "description": None, "answered_at": 1, "abandoned_at": None,
                      "long_poll": False, "kicked_by": None, "kicked": None, "update_ids": []})  # fmt: skip
    v = judge(with_meta(b.trace(300), ended_by="horizon"))
    assert v.status == ERROR and "no instance ever sent a getUpdates" in v.reason


def test_an_unasked_exit_1_is_a_crash_and_a_restart_still_booting_does_not_hide_a_crash_loop():
    b = Builder().spawn(0, "a.1").spawn(100, "a.2")
    b.poll(0, "a.1", until=50)
    b.exit(50, "a.1", code=1)  # sys.exit(1), no traceback
    v = judge(with_meta(b.trace(300), ended_by="horizon"))  # a.2 still booting at the end
    assert [c.type for c in v.crashes] == ["exit code 1"] and v.status == ERROR


def test_a_complete_run_with_an_undecided_check_is_inconclusive_never_pass():
    b = Builder().spawn(0, "a").event(100, "deploy")
    b.poll(0, "a", until=150)
    v = judge(with_meta(b.trace(150), ended_by="horizon"))  # too short for liveness to settle
    assert v.status == INCONCLUSIVE and not v.passed and "liveness inconclusive" in v.reason
