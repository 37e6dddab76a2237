"""python-telegram-bot's ``run_webhook``, unmodified, in a simulation: tornado serves on virtual sockets.

The corpus bot (``tests/bots/ptb_webhook``) is PTB's webhook example as a web service writes it:
``run_webhook(listen="0.0.0.0", port=PORT, url_path=..., webhook_url=WEBHOOK_URL/..., secret_token=...)``.
Its tornado server binds, accepts and reads through sim/sockets.py; the platform edge POSTs to it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from simbot.check import judge
from simbot.check.verdict import Verdict
from simbot.scenario import Bot, simulate
from simbot.scenario.model import Event, Scenario, Updates
from simbot.sim.trace import Trace
from tests.checking.ready import needs_program

pytest.importorskip("telegram")
pytest.importorskip("tornado")
ROOT = Path(__file__).parents[2]
BOT = ROOT / "tests" / "bots" / "ptb_webhook" / "bot.py"
LOOPBACK = ROOT / "tests" / "sim" / "programs" / "ptb_webhook_loopback.py"
pytestmark = needs_program
HORIZON = {"render_web": 300.0, "k8s_rolling_1": 300.0, "heroku_web_preboot": 400.0}  # past each rollout


@cache
def deploy(platform: str, script: Path = BOT) -> tuple[Trace, Verdict]:
    s = Scenario(seed=1, horizon=HORIZON[platform], platform=platform, bot=Bot(script=str(script)),
                 events=(Event(0.0, "start"), Event(60.0, "deploy")), updates=Updates(every=10.0))  # fmt: skip
    trace = simulate(s)
    return trace, judge(trace)


def acks(trace: Trace) -> list[dict[str, Any]]:
    return [e for e in trace.of("webhook") if e.get("event") == "ack"]


@pytest.mark.parametrize("platform", sorted(HORIZON))
def test_the_ptb_webhook_bot_deploys_cleanly_and_answers_every_update_once(platform: str) -> None:
    trace, verdict = deploy(platform)
    assert verdict.status == "PASS", verdict.describe()
    pushed = [e["update_id"] for e in trace.of("push")]
    assert sorted(e["update_id"] for e in acks(trace)) == pushed  # each POST answered 200 once, none failed
    echoes = [r for r in trace.of("request") if r["method"] == "sendMessage" and r["status"] == 200]
    assert len(echoes) == len(pushed)  # the bot's own handler ran for each: the echo went out
    sets = [(r["instance"], r["description"]) for r in trace.of("request") if r["method"] == "setWebhook"]
    assert sets == [("bot.v1", "Webhook was set"), ("bot.v2", "Webhook is already set")]  # same URL and secret
    assert {e["instance"] for e in acks(trace)} == {"bot.v1", "bot.v2"}  # the switch happened


def test_tornado_listens_on_the_platforms_port_through_virtual_sockets() -> None:
    trace, _ = deploy("render_web")
    assert not trace.of("finding")  # no socket call escaped: bind/listen/accept all went to the run
    first = [e for e in acks(trace) if e["instance"] == "bot.v2"]
    assert first and first[0]["url"] == "https://bot.onrender.com/telegram"
    # after the last update nothing can happen: the server waiting for a request is idle, not deadlocked
    assert [(e["instance"], e["listening"]) for e in trace.of("idle")] == [("bot.v2", [10000])]
    assert not trace.of("deadlock") and trace.meta["ended_by"] == "quiet"


def test_a_bot_listening_on_loopback_only_is_never_reached_and_the_verdict_says_why() -> None:
    trace, verdict = deploy("render_web", LOOPBACK)
    assert verdict.status == "ERROR"
    assert "listened on 127.0.0.1:10000 only" in verdict.reason, verdict.reason
    assert not acks(trace) and not trace.of("handled")


def test_the_run_is_byte_identical_when_repeated() -> None:
    trace, _ = deploy("k8s_rolling_1")
    s = Scenario(seed=1, horizon=300.0, platform="k8s_rolling_1", bot=Bot(script=str(BOT)),
                 events=(Event(0.0, "start"), Event(60.0, "deploy")), updates=Updates(every=10.0))  # fmt: skip
    assert simulate(s).digest() == trace.digest()


def test_a_crashed_webhook_process_restarts_and_serves_again() -> None:
    # the processes share one asyncio loop, hence one tornado IOLoop: the dead process's handler stays
    # in its table, so the restarted process's listening socket must not get the dead one's number
    s = Scenario(seed=0, horizon=260.0, platform="render_web", bot=Bot(script=str(BOT)), updates=Updates(every=10.0),
                 events=(Event(0.0, "start"), Event(10.0, "crash", {"replica": 0, "code": 137})))  # fmt: skip
    trace = simulate(s)
    verdict = judge(trace)
    assert not trace.of("uncaught"), trace.of("uncaught")
    assert "bot.v1#2" in {e["instance"] for e in acks(trace)}
    assert verdict.status == "PASS", verdict.describe()
