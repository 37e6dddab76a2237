"""The webhook figures in a verdict: delivery latency, last_error, pending_update_count at the end.

Synthetic traces pin each computation; one real run checks the fake's own end state is what is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simbot.check import judge
from simbot.check.history import History
from simbot.check.verdict import acked_without_reply, delivery_latency, last_error, webhook_line
from simbot.sim.trace import Trace
from tests.checking.ready import needs_program

ROOT = Path(__file__).parents[2]


def trace(*records: dict[str, Any], horizon: float = 300.0) -> Trace:
    return Trace([{"instance": None, **r} for r in records], horizon=horizon)


def push(t: float, uid: int) -> dict[str, Any]:
    return {"t": t, "kind": "push", "update_id": uid}


def step(t: float, event: str, uid: int | None, **fields: Any) -> dict[str, Any]:
    return {"t": t, "kind": "webhook", "event": event, "update_id": uid, **fields}


def test_latency_is_push_to_first_2xx_with_nearest_rank_percentiles():
    # 20 updates waiting 1, 2, …, 20 s: p50 is the 10th (10 s), p95 the 19th (19 s), max 20 s;
    # an interpolating percentile would say 10.5 and 19.05
    records = []
    for i in range(20):
        records += [push(10.0 * i, 100 + i), step(10.0 * i + i + 1, "ack", 100 + i, instance="bot.v1")]
    records += [step(500.0, "ack", 100, instance="bot.v2")]  # a second 2xx of update 100 later: not its latency
    records += [push(250.0, 999)]  # never answered: not counted
    lat = delivery_latency(History(trace(*sorted(records, key=lambda r: r["t"]), horizon=600)))
    assert lat == {"count": 20, "p50": 10.0, "p95": 19.0, "max": 20.0}


def test_latency_counts_from_the_push_not_from_the_post_that_succeeded():
    # pushed at 5, refused at 5 (502), retried and answered at 7: the user waited 2 s
    h = History(trace(push(5.0, 1), step(5.0, "deliver", 1), step(5.0, "fail", 1, status=502,
                error="Wrong response from the webhook: 502 Bad Gateway"), step(7.0, "deliver", 1),
                step(7.0, "ack", 1, instance="bot.v1")))  # fmt: skip
    assert delivery_latency(h) == {"count": 1, "p50": 2.0, "p95": 2.0, "max": 2.0}


def test_no_2xx_no_latency():
    assert delivery_latency(History(trace(push(5.0, 1), step(5.0, "fail", 1, status=502, error="x")))) == {
        "count": 0, "p50": None, "p95": None, "max": None}  # fmt: skip


def test_last_error_skips_a_clean_close_and_the_end_state_is_the_servers():
    refused = "Wrong response from the webhook: 502 Bad Gateway"
    h = History(trace(step(5.0, "fail", 1, status=502, error=refused),
                      step(9.0, "fail", 1, status=None, error="Webhook connection closed"),  # never stored
                      {"t": 300.0, "kind": "webhook_info", "url": "https://x/w", "pending_update_count": 3,
                       "last_error_date": None, "last_error_message": None}))  # fmt: skip
    assert last_error(h) == {"last_error": refused, "last_error_at_end": None, "pending_at_end": 3}


def reply(t: float, uid: int, status: int = 200, method: str = "sendMessage") -> dict[str, Any]:
    return {"t": t, "kind": "request", "id": uid * 10, "instance": "bot.v1", "method": method, "params": {},
            "status": status, "handling": uid}  # fmt: skip


def test_an_acknowledged_update_without_a_reply_is_counted():
    # 1: acked and replied; 2: acked, its reply refused (400); 3: acked, never replied; 4: replied, never acked
    h = History(trace(step(1.0, "ack", 1), reply(1.5, 1), step(2.0, "ack", 2), reply(2.5, 2, status=400),
                      step(3.0, "ack", 3), reply(3.5, 3, method="getMe"), reply(4.5, 4)))  # fmt: skip
    assert acked_without_reply(h) == 2


def test_the_webhook_line_says_whether_last_error_is_still_set():
    base = {"deaf": 0.0, "posts": 2, "failed": {"502": 1}, "dropped": 0, "aborted": 0,
            "latency": {"count": 1, "p50": 2.0, "p95": 2.0, "max": 2.0}, "pending_at_end": 0,
            "acked_without_reply": 0}  # fmt: skip
    e = "Wrong response from the webhook: 502 Bad Gateway"
    assert "(still set at the end)" in webhook_line(base | {"last_error": e, "last_error_at_end": e})
    assert "(cleared by the end)" in webhook_line(base | {"last_error": e, "last_error_at_end": None})
    assert "no last_error" in webhook_line(base | {"last_error": None, "last_error_at_end": None})
    assert "latency n=1 p50 2.000 s p95 2.000 s max 2.000 s" in webhook_line(base | {"last_error": None,
                                                                                   "last_error_at_end": None})


@needs_program
def test_a_real_run_reports_the_fakes_last_error_and_pending_count_at_the_end():
    pytest.importorskip("aiogram")
    from tests.sim.test_webhook_runs import BOTS, Bot, Event, Scenario, Updates, simulate

    # someone re-sets the webhook without the secret at 100 s: every later POST is answered 401
    events = (Event(0.0, "start"), Event(100.0, "webhook", {"url": "https://bot.onrender.com/webhook"}))
    s = Scenario(seed=1, horizon=300, platform="render_web", events=events,
                 bot=Bot(script=str(BOTS / "aiogram_webhook" / "bot.py")), updates=Updates(every=10))  # fmt: skip
    t = simulate(s)
    w = judge(t).metrics["webhook"]
    [info] = t.of("webhook_info")
    acked = {e["update_id"] for e in t.of("webhook") if e.get("event") == "ack"}
    assert w["pending_at_end"] == info["pending_update_count"] == len(t.of("push")) - len(acked) > 0
    assert w["last_error"] == w["last_error_at_end"] == "Wrong response from the webhook: 401 Unauthorized"
    assert w["latency"]["count"] == len(acked)
    assert "last_error 'Wrong response from the webhook: 401 Unauthorized' (still set at the end)" in judge(t).describe()


def test_a_polling_run_records_no_webhook_state_and_prints_no_webhook_line():
    pytest.importorskip("telegram")
    from simbot.scenario import load, simulate

    t = simulate(load(ROOT / "scenarios" / "render-worker-naive.toml"))
    assert not t.of("webhook_info")
    assert "webhook:" not in judge(t).describe()
