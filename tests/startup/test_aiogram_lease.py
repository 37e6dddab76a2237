"""The aiogram lease (``aiogram-lease``): aiogram's own Dispatcher polls, only inside the lease.

Mirrors the PTB lease's tests (test_policies.py) where the situation exists for aiogram; each
safety rule of ``simbot.startup.aiogram`` has a test here that fails without it.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from fake_telegram import message_update
from simbot.check import judge
from simbot.drivers.policies import with_policy
from simbot.matrix import deploy
from simbot.platforms import PRESETS
from simbot.scenario import Bot, Event, Scenario, Updates, simulate
from simbot.sim.network import Network
from simbot.sim.simulation import Simulation
from simbot.sim.trace import Trace
from simbot.startup import MemoryStore, policy

# made before any run: aiogram is imported then, so every run sends its session to the fake
LEASE = with_policy("aiogram-lease")


def requests(trace: Trace, instance: str, method: str | None = None) -> list[dict[str, Any]]:
    return [
        r
        for r in trace.of("request")
        if r["instance"] == instance and (method is None or r["method"] == method)
    ]


def push(sim: Simulation) -> None:
    sim.push(message_update("hi", date=int(sim.epoch + sim.now())))


@pytest.mark.parametrize("platform", sorted(PRESETS))
def test_the_default_deploy_passes_on_every_preset(platform):
    verdict = deploy("aiogram-lease", platform)
    assert verdict.status == "PASS", verdict.describe()
    updates = verdict.metrics["updates"]
    assert updates["pushed"] > 10 and updates["received"] == updates["pushed"]  # it really polled and handled
    assert updates["lost"] == updates["duplicates"] == 0


def test_exactly_one_of_two_instances_polls_and_aiogram_handles_what_it_gets():
    sim = Simulation(seed=1, horizon=120)
    sim.at(0, lambda: sim.spawn("a", LEASE))
    sim.at(1, lambda: sim.spawn("b", LEASE))
    for t in (20, 40, 60):
        sim.at(t, lambda: push(sim))
    trace = sim.run()
    assert requests(trace, "a", "getUpdates") and not requests(trace, "b", "getUpdates")
    assert [e["instance"] for e in trace.of("handled")] == ["a"] * 3  # Dispatcher.feed_update, aiogram's own
    assert judge(trace).passed


def test_on_sigterm_the_holder_releases_exits_0_and_the_successor_takes_over():
    sim = Simulation(seed=1, horizon=120)
    sim.at(0, lambda: sim.spawn("old", LEASE))
    sim.at(5, lambda: sim.spawn("new", LEASE))
    for t in (10, 20, 29):
        sim.at(t, lambda: push(sim))
    sim.at(30, lambda: sim.signal(sim.instances[0], signal.SIGTERM))
    trace = sim.run()
    verdict = judge(trace)
    assert verdict.passed, verdict.describe()
    assert ("old", 0, 30.0) in [(e["instance"], e["code"], e["t"]) for e in trace.of("exit")]
    assert not [r for r in requests(trace, "old") if r["t"] > 30.0]  # nothing sent after leaving
    first_new = requests(trace, "new", "getUpdates")[0]
    assert 30.0 <= first_new["t"] <= 32.0  # within retry_every of the release
    assert verdict.metrics["updates"]["duplicates"] == 0


def test_at_stop_the_last_batch_is_confirmed_while_the_lease_lasts():
    """aiogram sends no confirming call when it stops. Here the batch of 20 s is handed on, the next
    poll is refused (429, retry after 5 s), and SIGTERM comes while waiting: the policy confirms."""
    sim = Simulation(seed=1, horizon=120)
    sim.at(0, lambda: sim.spawn("old", LEASE))
    sim.at(5, lambda: sim.spawn("new", LEASE))
    sim.at(19.5, lambda: sim.telegram_fault(1.0, status=429, retry_after=5))
    sim.at(20, lambda: push(sim))
    sim.at(22, lambda: sim.signal(sim.instances[0], signal.SIGTERM))
    trace = sim.run()
    verdict = judge(trace)
    assert verdict.passed, verdict.describe()
    confirm = requests(trace, "old", "getUpdates")[-1]
    assert (confirm["t"], confirm["params"].get("timeout"), confirm["status"]) == (22.0, "0", 200)
    assert [e["instance"] for e in trace.of("handled")] == ["old"]  # not again by the successor


def test_a_store_outage_stops_polling_before_the_lease_could_expire():
    sim = Simulation(seed=1, horizon=200)
    sim.shared["lease_store"] = MemoryStore(outages=[(20.0, 60.0)])
    sim.at(0, lambda: sim.spawn("a", LEASE))
    sim.at(1, lambda: sim.spawn("b", LEASE))
    trace = sim.run()
    verdict = judge(trace)
    assert verdict.passed, verdict.describe()
    polls = [r for r in trace.of("request") if r["method"] == "getUpdates"]
    # renewals every 4 s: the last one answered before the outage was sent at 16 s, so the
    # lease is good until 31 s and nothing may hold the slot past 31 - 2 (margin) = 29 s
    assert not [r for r in polls if 29.0 < (r["answered_at"] or 0) < 60.0 and r["t"] < 60.0]
    assert any("did not answer" in e["message"] for e in trace.of("log"))
    assert any("stopped polling" in e["message"] for e in trace.of("log"))
    assert [r for r in polls if r["t"] > 60.0]  # after the outage someone polls again


def test_no_poll_is_sent_with_a_timeout_below_3_s():
    """Running out of lease (valid until 31 s, margin 2 s), polls of 6 s from 15 s leave 2 s at 27 s:
    too little for a poll, as the server's anti-spin rule could raise its timeout behind our back."""
    sim = Simulation(seed=1, horizon=200)
    sim.shared["lease_store"] = MemoryStore(outages=[(20.0, 60.0)])
    sim.at(0, lambda: sim.spawn("a", with_policy("aiogram-lease", poll_timeout=6)))
    trace = sim.run()
    polls = requests(trace, "a", "getUpdates")
    assert [(r["t"], r["params"]["timeout"]) for r in polls[:2]] == [(15.0, "6"), (21.0, "6")]
    assert not [r for r in polls if 0 < int(r["params"].get("timeout", "0")) < 3]
    assert not [r for r in polls if 27.0 <= r["t"] < 60.0]
    assert judge(trace).passed


def test_a_lost_lease_ends_the_poll_in_flight_at_once():
    """The store restarts empty at 20.5 s: the renewal at 24 s finds no record of a's lease. a gives up
    its poll then (the server would hold it to 25 s, still inside the lease) and takes the key fresh."""
    sim = Simulation(seed=1, horizon=80)
    sim.shared["lease_store"] = MemoryStore(wipes=[20.5])
    sim.at(0, lambda: sim.spawn("a", LEASE))
    trace = sim.run()
    first = requests(trace, "a", "getUpdates")[0]
    assert (first["t"], first["answered_at"], first["abandoned_at"]) == (15.0, 25.0, 24.0)
    fresh = [e["t"] for e in trace.of("log") if "no record of the lease" in e["message"]]
    assert fresh == [0.0, 24.0]
    assert requests(trace, "a", "getUpdates")[1]["t"] == 39.0  # one TTL after the fresh grant


def test_a_killed_holder_is_succeeded_after_the_ttl_and_its_ghost_is_kicked_silently():
    sim = Simulation(seed=1, horizon=120)
    sim.at(0, lambda: sim.spawn("old", LEASE))
    sim.at(1, lambda: sim.spawn("new", LEASE))
    sim.at(30, lambda: sim.instances[0].kill())
    trace = sim.run()
    verdict = judge(trace)
    assert verdict.passed, verdict.describe()
    first_new = requests(trace, "new", "getUpdates")[0]
    assert 30.0 < first_new["t"] <= 30.0 + 15.0 + 2.0


def test_a_pause_mid_poll_is_survived_and_a_late_batch_is_left_to_the_next_holder():
    sim = Simulation(seed=1, horizon=200)
    sim.at(0, lambda: sim.spawn("old", LEASE))
    sim.at(1, lambda: sim.spawn("new", LEASE))
    sim.at(15.5, lambda: sim.pause(sim.instances[0], 30))  # mid-poll: the lease runs out meanwhile
    for t in (20, 50, 70):
        sim.at(t, lambda: push(sim))
    trace = sim.run()
    verdict = judge(trace)
    assert verdict.passed, verdict.describe()
    assert verdict.metrics["updates"]["lost"] == verdict.metrics["updates"]["duplicates"] == 0


def test_a_fresh_grant_is_followed_by_one_ttl_without_getupdates():
    """First use (no record): whoever held the key before a store lost it may still poll for one TTL."""
    sim = Simulation(seed=1, horizon=60)
    sim.at(0, lambda: sim.spawn("a", LEASE))
    trace = sim.run()
    assert requests(trace, "a", "getUpdates")[0]["t"] == 15.0
    assert requests(trace, "a", "deleteWebhook")[0]["t"] == 0.0  # the lease is held meanwhile


def test_a_holder_stopped_while_waiting_out_a_store_restart_does_not_release():
    """Released, its record would say "over" while the holder from before the restart still polls."""
    sim = Simulation(seed=1, horizon=120)
    sim.shared["lease_store"] = MemoryStore(wipes=[20.5])  # just after a's renewal at 20 s
    sim.at(0, lambda: sim.spawn("a", LEASE))
    sim.at(1, lambda: sim.spawn("b", LEASE))  # retries every 2 s: granted at 21 s, no record
    sim.at(22, lambda: sim.signal(sim.instances[1], signal.SIGTERM))
    sim.at(22.5, lambda: sim.spawn("c", LEASE))
    trace = sim.run()
    verdict = judge(trace)
    assert verdict.passed, verdict.describe()
    polls = [r for r in trace.of("request") if r["method"] == "getUpdates"]
    assert not [r for r in polls if 20.5 < r["t"] < 21.0 + 15.0]  # nobody polls before b's record expires


def test_no_confirm_is_sent_while_waiting_out_a_store_restart():
    """The batch of 30 s is handed on and the next poll refused (429, retry after 5 s); the store restarts
    meanwhile, so the lease is lost and taken again fresh at 35 s. Stopped at 37 s, the policy confirms
    the batch only once the wait is over: a getUpdates earlier could kick a holder from before the restart."""
    sim = Simulation(seed=1, horizon=120)
    sim.shared["lease_store"] = MemoryStore(wipes=[30.5])
    sim.at(0, lambda: sim.spawn("a", LEASE))
    sim.at(29.5, lambda: sim.telegram_fault(1.0, status=429, retry_after=5))
    sim.at(30, lambda: push(sim))
    sim.at(37, lambda: sim.signal(sim.instances[0], signal.SIGTERM))
    trace = sim.run()
    fresh = [e["t"] for e in trace.of("log") if "no record of the lease" in e["message"]]
    assert fresh[0] == 0.0 and 35.0 <= fresh[1] < 35.1  # first use, then after the restart
    polls = requests(trace, "a", "getUpdates")
    assert not [r for r in polls if 30.5 <= r["t"] < fresh[1] + 15.0]
    confirm = polls[-1]
    assert (confirm["t"], confirm["params"].get("timeout"), confirm["status"]) == (fresh[1] + 15.0, "0", 200)
    assert [e["code"] for e in trace.of("exit")] == [0]


def test_getme_is_retried_at_start_up_through_a_telegram_outage():
    sim = Simulation(seed=1, horizon=90)
    sim.at(0, lambda: sim.telegram_fault(10.0, status=502))
    sim.at(0, lambda: sim.spawn("a", LEASE))
    trace = sim.run()
    assert not trace.of("exit")  # aiogram's own _polling would have ended on the failed getMe
    assert [r["status"] for r in requests(trace, "a", "getMe")][-1] == 200
    assert requests(trace, "a", "getUpdates")
    assert judge(trace).passed


def test_aiogram_lease_parameters_are_checked_like_the_lease():
    with pytest.raises(ValueError, match="ttl 5 s must exceed"):
        policy("aiogram-lease", store=MemoryStore(), ttl=5)
    with pytest.raises(
        ValueError, match=r"policy 'aiogram-lease': poll_timeout: expected an integer at least 3"
    ):
        policy("aiogram-lease", store=MemoryStore(), poll_timeout=2)


def test_a_pause_between_the_lease_check_and_the_poll_breaks_the_lease_as_documented():
    """The stated assumption, violated: frozen after the gate let a poll go, longer than the lease."""
    sim = Simulation(seed=1, horizon=200)
    sim.at(0, lambda: sim.spawn("old", LEASE))
    sim.at(1, lambda: sim.spawn("new", LEASE))
    sim.at(20, lambda: sim.pause_before_next_poll(sim.instances[0], 30))  # old polls from 15 s (first use)
    trace = sim.run()
    verdict = judge(trace)
    [kick] = verdict.checks["single_poller"].violations
    assert kick.instances == ("new", "old") and kick.what == "old's getUpdates kicked new's live poll"
    assert kick.t == 55.0  # old froze at 25 s, as its next poll left; it resumes and sends it
    assert verdict.reached["pause_in_takeover"] == 1


def test_the_simulated_network_reaches_aiogram_requests():
    """Latency delays each request; a dropped response is aiogram's TelegramNetworkError, and getMe is retried."""
    sim = Simulation(seed=1, horizon=30, network=Network((0.3, 0.3), drop=0.0))
    sim.at(0, lambda: sim.spawn("a", LEASE))
    trace = sim.run()
    assert [(r["method"], r["t"]) for r in requests(trace, "a")[:3]] == [
        ("getMe", 0.3), ("deleteWebhook", 0.9), ("getUpdates", 15.9),
    ]  # fmt: skip
    sim = Simulation(seed=1, horizon=5, network=Network((0.0, 0.0), drop=1.0))
    sim.at(0, lambda: sim.spawn("a", LEASE))
    trace = sim.run()
    failed = [e["message"] for e in trace.of("log") if "getMe failed" in e["message"]]
    assert len(failed) == len(requests(trace, "a", "getMe")) >= 5  # each retried after 1 s
    assert failed[0].startswith("start-up: getMe failed (HTTP Client says - RemoteProtocolError: ")
    assert not trace.of("exit")


@pytest.mark.parametrize("platform", sorted(PRESETS))
def test_safe_and_live_on_every_preset_under_faults(platform):
    """As the PTB lease's test: network latency, store latency, a store outage, a SIGKILL, two deploys."""
    p = PRESETS[platform]
    horizon = 260 + p.startup_window() + p.grace + 150
    scenario = Scenario(
        seed=7, horizon=horizon, platform=platform, bot=Bot(policy="aiogram-lease"), latency=(0.01, 0.2),
        store_latency=(0.001, 0.05), store_outages=((200.0, 230.0),),
        events=(Event(0, "start"), Event(60, "deploy"), Event(150, "crash", {"code": 137}), Event(260, "deploy")),
        updates=Updates(at=tuple(float(t) for t in range(5, int(horizon) - 60, 10))),
    )  # fmt: skip
    verdict = judge(simulate(scenario))
    assert verdict.status == "PASS", verdict.describe()
    assert verdict.metrics["updates"]["received"] == verdict.metrics["updates"]["pushed"] > 30
