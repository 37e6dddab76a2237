"""What the webhook deploy case files say happens, checked in their traces (docs/scenarios.md, webhook cases).

The plugin replays each file against its [expect]; these pin the mechanism each description states.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simbot.check import judge
from simbot.scenario import load, simulate
from simbot.sim.trace import Trace
from tests.checking.ready import needs_program

ROOT = Path(__file__).parents[2]
pytestmark = needs_program


def case(name: str) -> Trace:
    return simulate(load(ROOT / "scenarios" / f"{name}.toml"))


def steps(trace: Trace, event: str) -> list[dict[str, Any]]:
    return [e for e in trace.of("webhook") if e.get("event") == event]


def test_w6_a_secret_per_start_behind_heroku_preboot_is_401_until_the_switch_then_late():
    pytest.importorskip("aiogram")
    t = case("webhook-secret-per-start-aiogram-heroku_web_preboot")
    fails = steps(t, "fail")
    switch = next(e["t"] for e in t.of("cutover"))
    assert {(e["status"], e["instance"]) for e in fails} == {(401, "bot.v1")} and max(e["t"] for e in fails) < switch
    assert [e["retry_in"] for e in fails][1:7] == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0]  # the ladder, then 60-120 s
    assert all(60 <= e["retry_in"] <= 120 for e in fails[7:])
    first_new = min(e["t"] for e in steps(t, "ack") if e["instance"] == "bot.v2")
    assert first_new - switch > 60  # the head update waits out its backoff after the switch
    w = judge(t).metrics["webhook"]
    assert w["last_error_at_end"] == "Wrong response from the webhook: 401 Unauthorized"
    assert w["latency"]["max"] == pytest.approx(first_new - 65)  # pushed at 65 s, first answered then


def test_w7_two_machines_setting_the_webhook_at_once_one_gets_429_and_crashes_once():
    pytest.importorskip("telegram")
    t = case("webhook-replicas-set-at-once-ptb-fly_launch_default")
    sets = [r for r in t.of("request") if r["method"] == "setWebhook" and r["t"] == 0]
    assert sorted(r["status"] for r in sets) == [200, 429]
    assert [e["instance"] for e in t.of("uncaught")] == ["bot.v1.1"]
    assert not steps(t, "fail")  # delivery unaffected


def test_w11_the_webhook_kicks_the_old_poller_which_gets_409_until_it_stops():
    pytest.importorskip("telegram")
    t = case("webhook-migrate-polling-to-webhook-ptb-render_web")
    old = [r for r in t.of("request") if r["instance"] == "bot.v1" and r["status"] == 409]
    assert old[0]["description"] == "Conflict: terminated by setWebhook request"
    assert {r["description"] for r in old[1:]} == {
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
    handled = [e["update_id"] for e in t.of("handled")]
    assert sorted(handled) == sorted(e["update_id"] for e in t.of("push"))  # each once: nothing re-sent


def test_w16_a_poison_update_blocks_its_chat_and_the_other_chats_flow():
    pytest.importorskip("aiogram")
    t = case("webhook-poison-update-aiogram-render_web")
    fails = steps(t, "fail")
    assert {e["status"] for e in fails} == {500} and len({e["update_id"] for e in fails}) == 1  # one head update
    acked = {e["update_id"] for e in steps(t, "ack")}
    pushes = [e["update_id"] for e in t.of("push")]
    chat_a = pushes[0::3]  # chats in turn: 1000, 1001, 1002, 1000, …
    assert not acked & set(chat_a) and acked == set(pushes) - set(chat_a)
    assert judge(t).metrics["webhook"]["pending_at_end"] == len(chat_a)


def test_w9_an_update_acknowledged_by_the_killed_instance_never_gets_its_reply():
    pytest.importorskip("telegram")
    t = case("webhook-railway-ptb-railway_2025")
    late = next(e["update_id"] for e in t.of("push") if e["t"] == 58.0)
    assert [e["instance"] for e in steps(t, "ack") if e["update_id"] == late] == ["bot.v1"]
    killed = next(e["t"] for e in t.of("exit") if e["instance"] == "bot.v1")
    assert [e["t"] for e in t.of("handled") if e["update_id"] == late] == [60.0] and killed == 60.5
    assert t.of("exit")[0]["code"] == 137
    verdict = judge(t)
    assert verdict.metrics["webhook"]["acked_without_reply"] == 1 and verdict.status == "FAIL"
    assert [v.what for v in verdict.checks["lost_updates"].violations] == [
        f"update {late} was taken but its handling never finished before its process ended: bot.v1 (ended at 60.5 s)"]
    assert verdict.metrics["updates"]["lost_in_a_handler"] == 1


def test_w8_behind_herokus_router_the_error_says_the_bot_took_updates_but_answered_none_in_time():
    """A 70 s handler without background handling: every POST ends in the router's 503 at 30 s. The
    bot is up and handling, so the reason must not say it was still booting."""
    pytest.importorskip("aiogram")
    verdict = judge(case("webhook-slow-handler-aiogram-heroku_web_preboot"))
    assert verdict.status == "ERROR"
    assert "bot.v1 took 1 update(s) (handled events) but answered no webhook POST with a 2xx (its POSTs got 503 ×" in verdict.reason
    assert "booting" not in verdict.reason
