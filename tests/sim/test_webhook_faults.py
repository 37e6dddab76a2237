"""Webhook faults as scenario events: each has an effect a real deploy has, seen in the trace.

``endpoint_errors`` (the edge answers 5xx itself), ``routing_lag`` (a stale routing table),
``slow_handler`` (a sync call in a handler blocks the process's loop) and ``rotate_secret``
(the operator re-sets the webhook with another secret). The bots are the corpus's,
unmodified (``tests/bots/aiogram_webhook``, ``tests/bots/ptb_webhook``).
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from simbot.check import judge
from simbot.check.verdict import Verdict
from simbot.scenario import Bot, ScenarioError, parse, simulate
from simbot.scenario.model import Event, Scenario, Updates
from simbot.sim.trace import Trace
from tests.checking.ready import needs_program

BOTS = Path(__file__).parents[2] / "tests" / "bots"
pytestmark = needs_program


def run(events: tuple[tuple[float, str, dict[str, Any]], ...], *, bot: str = "aiogram_webhook",
        platform: str = "render_web", horizon: float = 250.0, env: dict[str, str] | None = None,
        overrides: dict[str, Any] | None = None) -> tuple[Trace, Verdict]:  # fmt: skip
    pytest.importorskip("aiogram" if bot.startswith("aiogram") else "telegram")
    s = Scenario(seed=1, horizon=horizon, platform=platform, platform_overrides=overrides or {},
                 events=(Event(0.0, "start"), *(Event(at, kind, params) for at, kind, params in events)),
                 bot=Bot(script=str(BOTS / bot / "bot.py"), env=env or {}), updates=Updates(every=10))  # fmt: skip
    trace = simulate(s)
    return trace, judge(trace)


def steps(trace: Trace, event: str) -> list[dict[str, Any]]:
    return [e for e in trace.of("webhook") if e.get("event") == event]


def handled_twice(trace: Trace) -> list[int]:
    ids = [e["update_id"] for e in trace.of("handled")]
    return sorted({uid for uid in ids if ids.count(uid) > 1})


# -- endpoint_errors ------------------------------------------------------------------


@cache
def burst() -> tuple[Trace, Verdict]:
    return run(((40.0, "endpoint_errors", {"seconds": 30.0, "status": 503}),), horizon=200)


def test_endpoint_errors_answer_the_status_at_the_edge_and_telegram_retries_on_its_ladder():
    trace, verdict = burst()
    fails = steps(trace, "fail")
    assert {(e["status"], e["instance"]) for e in fails} == {(503, None)}  # no process was reached
    assert all(40 <= e["t"] < 70 for e in fails)
    assert [e["retry_in"] for e in fails] == [0.0, 2.0, 4.0, 8.0, 16.0]  # webhooks §1.4: 0, 2, 4, 8, 16 …
    [head] = {e["update_id"] for e in fails}  # one chat: its queue waits behind its head update
    first_ack = next(e for e in steps(trace, "ack") if e["update_id"] == head)
    assert first_ack["t"] == 75.0 and first_ack["instance"] == "bot.v1"  # the next rung after the burst ends
    assert "Wrong response from the webhook: 503 Service Unavailable" in {e["error"] for e in fails}
    assert verdict.status == "PASS", verdict.describe()  # nothing lost, liveness settles after the burst
    assert "fault ended at 70 s" in verdict.checks["liveness"].note


def test_endpoint_errors_of_one_replica_fail_only_the_posts_routed_to_it():
    trace, verdict = run(((40.0, "endpoint_errors", {"seconds": 60.0, "status": 500, "replica": 1}),),
                         overrides={"replicas": 2}, horizon=200)  # fmt: skip
    window = [e for e in trace.of("webhook") if 40 <= e["t"] < 100 and e.get("event") in ("ack", "fail")]
    assert {e["status"] for e in window if e["event"] == "fail"} == {500}
    assert {e["instance"] for e in window if e["event"] == "ack"} == {"bot.v1.0"}  # replica 0 still answers
    assert not [e for e in steps(trace, "fail") if e["t"] < 40 or e["t"] >= 100]
    assert verdict.outcome("lost_updates") == "pass"


# -- slow_handler ---------------------------------------------------------------------


def test_a_slow_handler_blocks_the_process_so_the_next_post_times_out_and_is_handled_twice():
    trace, verdict = run(((40.0, "slow_handler", {"seconds": 90.0}),))
    [slow] = trace.of("slow_handler")
    assert (slow["t"], slow["instance"], slow["seconds"]) == (45.0, "bot.v1", 90.0)  # the next update after 40 s
    timeouts = [e for e in steps(trace, "fail") if e["error"] == "Read timeout expired"]
    assert [e["t"] for e in timeouts] == [115.0]  # the POST of 55 s got no answer in 60 s: Telegram gave up
    assert not [e for e in trace.of("handled") if 45 < e["t"] < 135]  # the loop is stuck until 45 + 90
    assert handled_twice(trace) == [timeouts[0]["update_id"]]  # the held POST and its re-send both run (F5)
    assert verdict.outcome("duplicates") == "fail"


def test_behind_heroku_the_router_gives_up_at_30_s_and_telegram_resends():
    trace, verdict = run(((300.0, "slow_handler", {"seconds": 45.0}),), platform="heroku_web_preboot", horizon=420)
    [slow] = trace.of("slow_handler")
    fails = [e for e in steps(trace, "fail") if e["t"] > slow["t"]]
    assert fails and {(e["status"], e["error"]) for e in fails} == {(503, "Wrong response from the webhook: 503 Service Unavailable")}
    assert fails[0]["t"] == slow["t"] + 10 + 30  # the next POST, then the router's 30 s (H12)
    assert handled_twice(trace) and verdict.outcome("duplicates") == "fail"


# -- routing_lag ----------------------------------------------------------------------


@cache
def lagged(seconds: float | None) -> Trace:
    lag = () if seconds is None else ((60.0, "routing_lag", {"seconds": seconds}),)
    return run(((60.0, "deploy", {}), *lag), bot="ptb_webhook", platform="k8s_rolling_1")[0]


def test_routing_lag_keeps_posting_to_the_old_pod_after_it_stopped_502_until_the_table_catches_up():
    trace = lagged(30.0)
    [lag] = trace.of("routing_lag")
    assert lag["to"] == ["bot.v1"]  # the table frozen at 60 s
    gone = next(e["t"] for e in trace.of("exit") if e["instance"] == "bot.v1")
    stale = [e for e in steps(trace, "fail") if e["t"] > gone]
    assert stale and {(e["status"], e["instance"]) for e in stale} == {(502, "bot.v1")}  # refused: nobody listens
    assert all(e["t"] < 90 for e in stale)
    assert min(e["t"] for e in steps(trace, "ack") if e["instance"] == "bot.v2") >= 90
    assert judge(trace).outcome("lost_updates") == "pass"  # all retried


def test_without_routing_lag_the_same_deploy_never_posts_to_the_stopped_pod():
    trace = lagged(None)
    gone = next(e["t"] for e in trace.of("exit") if e["instance"] == "bot.v1")
    assert not [e for e in steps(trace, "fail") if e["t"] > gone + 1]  # k8s' own 1 s endpoint lag only


# -- rotate_secret --------------------------------------------------------------------


def test_rotating_the_secret_deafens_a_fixed_secret_bot_until_its_next_deploy():
    trace, verdict = run(((40.0, "rotate_secret", {}), (150.0, "deploy", {})), horizon=300)
    [rotated] = trace.of("rotate_secret")
    assert (rotated["status"], rotated["description"]) == (200, "Webhook was set")
    [operator] = [r for r in trace.of("request") if r["instance"] == "operator"]
    assert operator["method"] == "setWebhook" and operator["params"]["url"] == "https://bot.onrender.com/webhook"
    fails = steps(trace, "fail")
    assert {(e["status"], e["instance"]) for e in fails} == {(401, "bot.v1")}  # aiogram: wrong secret
    assert not [e for e in steps(trace, "ack") if 40 < e["t"] < 150]  # deaf from the rotation to the deploy
    assert min(e["t"] for e in steps(trace, "ack") if e["t"] > 40) == 150.0  # v2's own setWebhook resets it
    assert verdict.outcome("lost_updates") == "pass"  # Telegram kept them all


def test_without_a_deploy_the_rotated_bot_stays_deaf_and_liveness_fails():
    trace, verdict = run(((40.0, "rotate_secret", {}),), horizon=200)
    assert not [e for e in steps(trace, "ack") if e["t"] > 40]
    assert verdict.outcome("liveness") == "fail"
    assert verdict.metrics["webhook"]["deaf"] > 100


def test_ptb_with_a_secret_answers_403_and_without_one_does_not_check_it():
    with_secret, _ = run(((40.0, "rotate_secret", {}),), bot="ptb_webhook", horizon=130,
                         env={"WEBHOOK_SECRET": "s3cret"})  # fmt: skip
    assert {e["status"] for e in steps(with_secret, "fail")} == {403}
    without, verdict = run(((40.0, "rotate_secret", {}),), bot="ptb_webhook", horizon=130)
    assert not steps(without, "fail") and verdict.status == "PASS"  # PTB checks a secret only when given one


def test_rotating_before_any_webhook_is_set_changes_nothing():
    trace, _ = run(((0.0, "rotate_secret", {}),), horizon=60)  # the bot sets its webhook after it boots
    [nothing] = trace.of("rotate_secret")
    assert nothing["skipped"] == "no webhook is set"
    assert not [r for r in trace.of("request") if r["instance"] == "operator"] and not steps(trace, "fail")


# -- validation -----------------------------------------------------------------------

WEB = 'horizon = 300\n[platform]\npreset = "render_web"\n[bot]\npolicy = "naive"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (WEB.replace("render_web", "render_worker") + '[[events]]\nat = 5\nkind = "endpoint_errors"\nseconds = 5\n',
         "events[0].kind: expected an event this platform can have: render_worker routes no HTTP"),
        (WEB.replace("render_web", "local_dev_stray") + '[[events]]\nat = 5\nkind = "rotate_secret"\n',
         "events[0].kind: expected an event this platform can have: local_dev_stray"),
        (WEB + '[[events]]\nat = 5\nkind = "endpoint_errors"\nseconds = 5\nstatus = 404\n',
         "events[0].status: expected an integer at least 500 and at most 599, got 404"),
        (WEB + '[[events]]\nat = 5\nkind = "endpoint_errors"\nseconds = 5\nstatus = 505\n',
         "events[0].status: expected a status a failing edge or proxy answers (500, 502, 503, 504), got 505"),
        (WEB + '[[events]]\nat = 5\nkind = "endpoint_errors"\n', "events[0].seconds: expected a value"),
        (WEB + '[[events]]\nat = 5\nkind = "endpoint_errors"\nseconds = 0\n', "events[0].seconds: expected"),
        (WEB + '[[events]]\nat = 250\nkind = "routing_lag"\nseconds = 60\n',
         "events[0].seconds: expected a duration that ends by the horizon"),
        (WEB + '[[events]]\nat = 5\nkind = "slow_handler"\nseconds = 5\nreplica = 1\n',
         "events[0].replica: expected a replica that exists at 5 s"),
        (WEB + '[[events]]\nat = 5\nkind = "endpoint_errors"\nseconds = 5\nreplica = 3\n',
         "events[0].replica: expected a replica that exists at 5 s"),
        (WEB + '[[events]]\nat = 5\nkind = "rotate_secret"\nsecret = "x"\n',
         "events[0].secret: expected a parameter of a 'rotate_secret' event (at, kind)"),
        (WEB + '[[events]]\nat = 5\nkind = "slow_handler"\nseconds = -1\n', "events[0].seconds: expected"),
    ],
)  # fmt: skip
def test_bad_webhook_fault_events_are_refused_naming_the_key(text: str, message: str):
    with pytest.raises(ScenarioError) as caught:
        parse(tomllib.loads(text))
    assert message in str(caught.value)


def test_good_webhook_fault_events_parse():
    s = parse(tomllib.loads(WEB + '[[events]]\nat = 5\nkind = "endpoint_errors"\nseconds = 5\n'
                                  '[[events]]\nat = 6\nkind = "slow_handler"\nseconds = 61\n'
                                  '[[events]]\nat = 7\nkind = "routing_lag"\nseconds = 30\n'
                                  '[[events]]\nat = 8\nkind = "rotate_secret"\n'))  # fmt: skip
    assert [e.kind for e in s.events] == ["endpoint_errors", "slow_handler", "routing_lag", "rotate_secret"]


def test_a_python_caller_on_a_preset_without_routing_gets_a_clear_error():
    s = Scenario(seed=0, horizon=60, platform="render_worker", bot=Bot(policy="naive"),
                 events=(Event(5.0, "routing_lag", {"seconds": 5.0}),))  # fmt: skip
    with pytest.raises(ValueError, match="routing_lag need a platform that routes HTTP to the bot; render_worker"):
        simulate(s)


def test_every_webhook_fault_in_one_run_replays_byte_identical():
    events = ((30.0, "endpoint_errors", {"seconds": 10.0, "status": 502}), (50.0, "slow_handler", {"seconds": 65.0}),
              (60.0, "deploy", {}), (60.0, "routing_lag", {"seconds": 20.0}), (150.0, "rotate_secret", {}))  # fmt: skip
    first, _ = run(events, platform="k8s_rolling_1", horizon=200)
    again, _ = run(events, platform="k8s_rolling_1", horizon=200)
    assert first.digest() == again.digest()
    assert [e["kind"] for e in first if e["kind"] in ("endpoint_errors", "slow_handler", "routing_lag", "rotate_secret")] == [
        "endpoint_errors", "slow_handler", "routing_lag", "rotate_secret"]


def test_a_rotation_within_a_second_of_the_bots_own_setwebhook_gets_429_and_changes_nothing():
    from urllib.parse import urlencode

    from simbot.sim.simulation import FORM, Simulation

    sim = Simulation(seed=3)
    body = urlencode({"url": "https://bot.onrender.com/hook", "secret_token": "mine"}).encode()
    sim.fake.receive("POST", f"/bot{sim.token}/setWebhook", FORM, body, who="bot.v1")
    sim.rotate_secret()  # the same instant: setWebhook's 1/s limit applies to the operator too
    [rotated] = [e for e in sim.events if e.kind == "rotate_secret"]
    assert (rotated.data["status"], rotated.data["description"]) == (429, "Too Many Requests: retry after 1")
    assert sim.fake.bots[(sim.token, False)].webhook.secret_token == "mine"
    sim.discard()


def test_the_timeline_marks_a_webhook_fault_and_explains_the_mark():
    from simbot.report.timeline import timeline

    text = timeline(burst()[0])
    platform = next(line for line in text.splitlines() if line.startswith("platform"))
    assert platform.split("|")[1].strip() == "E"  # the burst at 40 s, nothing else on the lane
    assert "webhook faults: E edge answers 5xx" in text
