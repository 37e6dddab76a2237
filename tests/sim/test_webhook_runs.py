"""Webhook bots in a simulation: the fake POSTs through the platform's edge to the bot's own server.

The bots are the corpus's, unmodified: aiogram's webhook example (``tests/bots/aiogram_webhook``)
and the same with ``await bot.delete_webhook()`` in on_shutdown (``aiogram_webhook_delete``).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from simbot.check import judge
from simbot.check.verdict import Verdict
from simbot.report.timeline import timeline
from simbot.scenario import Bot, load, simulate
from simbot.scenario.model import Event, Scenario, Updates
from simbot.sim.trace import Trace
from tests.checking.ready import needs_program

pytest.importorskip("aiogram")
ROOT = Path(__file__).parents[2]
BOTS = ROOT / "tests" / "bots"
pytestmark = needs_program


def run(bot: str, platform: str, *, horizon: float = 300.0, deploy: float | None = 60.0, at: tuple[float, ...] = (),
        every: float | None = 10.0, env: dict[str, str] | None = None) -> tuple[Trace, Verdict]:  # fmt: skip
    events = (Event(0.0, "start"),) + ((Event(deploy, "deploy"),) if deploy is not None else ())
    script = (
        BOTS / bot / "bot.py" if (BOTS / bot).is_dir() else Path(__file__).parent / "programs" / f"{bot}.py"
    )
    s = Scenario(seed=1, horizon=horizon, platform=platform, events=events,
                 bot=Bot(script=str(script), env=env or {}), updates=Updates(every=every, at=at))  # fmt: skip
    trace = simulate(s)
    return trace, judge(trace)


@cache
def render() -> tuple[Trace, Verdict]:
    return run("aiogram_webhook", "render_web")


def steps(trace: Trace, event: str) -> list[dict[str, Any]]:
    return [e for e in trace.of("webhook") if e.get("event") == event]


def stop_of(trace: Trace, name: str) -> float:
    return next(e["t"] for e in trace.of("stop") if e["instance"] == name)


def test_w1_render_the_new_instance_answers_from_the_switch_and_the_old_never_again():
    trace, verdict = render()
    assert verdict.status == "PASS", verdict.describe()
    acks = steps(trace, "ack")
    first_new = min(e["t"] for e in acks if e["instance"] == "bot.v2")
    assert (
        60 <= first_new < stop_of(trace, "bot.v1")
    )  # after its port is bound, long before the old one stops
    assert not [
        e for e in acks if e["instance"] == "bot.v1" and e["t"] >= first_new
    ]  # old stops at the switch
    assert {e["instance"] for e in acks if e["t"] < 60} == {"bot.v1"}
    handled = [e["update_id"] for e in trace.of("handled")]
    assert len(handled) == len(set(handled)) == len(trace.of("push"))  # 0 lost, 0 duplicates
    assert not [r for r in trace.of("request") if r["status"] == 409]
    new_set = [r for r in trace.of("request") if r["method"] == "setWebhook" and r["instance"] == "bot.v2"]
    assert [r["description"] for r in new_set] == ["Webhook is already set"]  # same URL and secret: a no-op
    assert verdict.metrics["webhook"]["deaf"] == 0.0
    assert "answer(s) webhook POSTs" in verdict.checks["liveness"].note


def test_w1_the_instances_get_the_platforms_port_and_public_url():
    trace, _ = render()
    [webhook] = {r["params"]["url"] for r in trace.of("request") if r["method"] == "setWebhook"}
    assert webhook == "https://bot.onrender.com/webhook"  # BASE_WEBHOOK_URL, as the user sets it on Render
    assert any("Running on http://0.0.0.0:10000" in e.get("text", "") for e in trace.of("output"))  # PORT


def test_w2_deleting_the_webhook_on_shutdown_leaves_the_new_instance_deaf():
    trace, verdict = run("aiogram_webhook_delete", "render_web")
    assert verdict.status == "FAIL"
    assert verdict.outcome("liveness") == "fail" and verdict.outcome("lost_updates") == "fail"
    deleted = next(r["t"] for r in trace.of("request") if r["method"] == "deleteWebhook")
    assert deleted == stop_of(trace, "bot.v1")  # the old instance's on_shutdown, at its SIGTERM
    assert not [e for e in steps(trace, "deliver") if e["t"] > deleted]  # Telegram has nowhere to POST
    assert verdict.metrics["webhook"]["deaf"] == pytest.approx(300 - deleted)  # no webhook, nobody polling
    lanes = {
        line.split("|")[0].strip(): line.split("|")[1] for line in timeline(trace).splitlines() if "|" in line
    }
    assert lanes["webhook"].rstrip().endswith("-") and lanes["webhook"].endswith(" ")  # set, then nothing
    assert "w" not in lanes["bot.v2"][-20:]  # the new instance receives nothing to the end


def test_k8s_without_a_probe_routes_to_a_pod_that_does_not_listen_yet_502_then_delivered():
    # the pod is Ready at 0.5 s; its server binds at 3 s, after on_startup's setWebhook and 3 s more
    trace, verdict = run("aiogram_webhook_slow_start", "k8s_rolling_1", horizon=130, deploy=None, at=(0.1,),
                         every=None)  # fmt: skip
    fails = steps(trace, "fail")
    assert [e["status"] for e in fails[:1]] == [503]  # 0.1 s: no pod is Ready yet: no endpoint
    assert {(e["status"], e["instance"]) for e in fails if e["t"] >= 0.5} == {
        (502, "bot.v1")
    }  # Ready, not listening
    assert [e["instance"] for e in steps(trace, "ack")] == ["bot.v1"]  # retried, then answered
    assert [e["update_id"] for e in trace.of("handled")] == [e["update_id"] for e in trace.of("push")]
    assert verdict.status == "PASS", verdict.describe()


def test_heroku_preboot_keeps_posting_to_the_old_dyno_until_the_switch():
    trace, verdict = run("aiogram_webhook", "heroku_web_preboot", horizon=400)
    switch = stop_of(trace, "bot.v1")  # the preboot switch and the old dyno's SIGTERM are one instant
    acks = steps(trace, "ack")
    assert {e["instance"] for e in acks if e["t"] < switch} == {"bot.v1"}  # the new dyno listens from 60 s
    assert {e["instance"] for e in acks if e["t"] > switch} == {"bot.v2"}
    assert verdict.status == "PASS", verdict.describe()


def test_a_webhook_bot_whose_url_nobody_serves_is_never_a_pass():
    # the example's default BASE_WEBHOOK_URL: a host outside the run, so every POST fails
    trace, verdict = run("aiogram_webhook", "render_web", horizon=130, deploy=None,
                         env={"BASE_WEBHOOK_URL": "https://aiogram.dev"})  # fmt: skip
    assert verdict.status == "ERROR"
    assert verdict.reason.startswith("the bot set its webhook to a host this run does not have (aiogram.dev)")
    assert "run with --public-url https://aiogram.dev" in verdict.reason
    assert not trace.of("handled")


def test_the_w_scenario_files_replay_byte_identical():
    from simbot.scenario import replay

    s = load(ROOT / "scenarios" / "webhook-aiogram-render_web.toml")
    first, _, mismatches = replay(s)
    assert not mismatches
    assert simulate(s).digest() == first.digest()


def test_a_webhook_nobody_answers_is_deaf_time_even_with_the_bot_up():
    # someone re-sets the webhook without the secret: the bot answers every POST 401 from then on
    events = (Event(0.0, "start"), Event(100.0, "webhook", {"url": "https://bot.onrender.com/webhook"}))
    s = Scenario(seed=1, horizon=300, platform="render_web", events=events,
                 bot=Bot(script=str(BOTS / "aiogram_webhook" / "bot.py")), updates=Updates(every=10))  # fmt: skip
    trace = simulate(s)
    verdict = judge(trace)
    assert {e["status"] for e in steps(trace, "fail")} == {401}
    assert not [e for e in steps(trace, "ack") if e["t"] > 100]
    assert verdict.outcome("liveness") == "fail" and verdict.outcome("lost_updates") == "fail"
    assert verdict.metrics["webhook"]["deaf"] == pytest.approx(200, abs=5)  # from the first 401 to the end
