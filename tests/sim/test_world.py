"""Entry points by import path, aiogram inside a simulation, the network, strays."""

from __future__ import annotations

import difflib

import pytest

from simbot.check import judge
from simbot.platforms import preset
from simbot.platforms.service import Service, stray
from simbot.sim.entry import load
from simbot.sim.network import Network
from simbot.sim.simulation import Simulation


def test_entry_points_load_by_import_path_with_clear_errors():
    assert load("simbot.drivers.ptb:naive").__name__ == "naive"
    for path, message in [
        ("simbot.drivers.ptb", "expected 'package.module:function'"),
        ("no_such_module:main", "cannot import 'no_such_module'"),
        ("simbot.drivers.ptb:nope", "has no attribute 'nope'"),
        ("simbot.drivers.ptb:build", "expected an async function"),
    ]:
        with pytest.raises(ValueError, match=message):
            load(path)


def test_an_unmodified_aiogram_bot_fights_a_ptb_bot_and_stops_on_sigterm():
    sim = Simulation(seed=2, horizon=120)
    service = Service(sim, preset("k8s_rolling_1"), "simbot.drivers.aiogram:naive")
    sim.at(0, service.start)
    sim.at(10, lambda: sim.spawn("ptb", "simbot.drivers.ptb:naive"))
    sim.at(40, service.deploy)
    trace = sim.run()
    verdict = judge(trace)
    conflicts = verdict.metrics["conflicts"]
    assert conflicts.get("bot.v1", 0) > 0 and conflicts.get("ptb", 0) > 0
    exits = {e["instance"]: (e["t"], e["code"]) for e in trace.of("exit")}
    assert exits["bot.v1"][1] == 0 and 40.5 <= exits["bot.v1"][0] < 41.0  # aiogram's own SIGTERM handling
    assert not trace.of("finding")  # no real socket: the default session was the fake's


def test_latency_delays_requests_and_answers_and_stays_deterministic():
    def run(seed: int):  # type: ignore[no-untyped-def]
        sim = Simulation(seed=seed, horizon=60, network=Network(latency=(0.05, 0.2)))
        sim.at(0, lambda: sim.spawn("bot", "simbot.drivers.ptb:naive"))
        return sim.run()

    trace = run(4)
    first = trace.of("request")[0]
    assert 0.05 <= first["t"] <= 0.2  # getMe reached the server one latency after t=0
    again = run(4)
    diff = list(difflib.unified_diff(trace.lines(), again.lines(), lineterm="", n=1))[:12]
    assert trace.digest() == again.digest(), "\n".join(line[:300] for line in diff)
    assert trace.digest() != run(5).digest()


def test_dropped_responses_reach_the_server_but_not_the_client():
    sim = Simulation(seed=1, horizon=60, network=Network(latency=(0.01, 0.01), drop=1.0))
    sim.at(0, lambda: sim.spawn("bot", "simbot.drivers.ptb:naive"))
    trace = sim.run()
    [get_me, *_] = trace.of("request")
    assert get_me["method"] == "getMe" and get_me["status"] == 200
    assert trace.of("exit")[0]["code"] == 1  # PTB's initialize fails on the lost answer: bootstrap_retries=0


def test_network_settings_are_checked():
    with pytest.raises(ValueError, match="latency"):
        Network(latency=(0.2, 0.1))
    with pytest.raises(ValueError, match="probability"):
        Network(drop=1.5)


def test_a_stray_laptop_poller_fights_production_until_ctrl_c():
    sim = Simulation(seed=1, horizon=200)
    service = Service(sim, preset("render_worker"), "simbot.drivers.ptb:naive")
    sim.at(0, service.start)
    stray(sim, "simbot.drivers.ptb:naive", start=50, stop=100, name="laptop")
    verdict = judge(sim.run())
    kicks = verdict.checks["single_poller"].violations
    assert kicks and all(50 <= v.t <= 130 for v in kicks)
    assert verdict.checks["liveness"].passed  # production keeps polling once the laptop is gone


def test_a_webhook_set_by_someone_else_silences_ptb_until_it_deletes_it_on_restart():
    sim = Simulation(seed=1, horizon=120)
    service = Service(sim, preset("docker_always"), "simbot.drivers.ptb:naive")
    sim.at(0, service.start)
    sim.at(20, lambda: sim.set_webhook("https://example.com/hook"))
    trace = sim.run()
    conflicts = [r for r in trace.of("request") if r["status"] == 409]
    assert conflicts[0]["description"] == "Conflict: terminated by setWebhook request"
    assert any("webhook is active" in (r["description"] or "") for r in conflicts[1:])
    assert judge(trace).checks["single_poller"].passed  # someone else is not a second poller


def test_a_telegram_outage_makes_ptb_back_off_and_recover():
    sim = Simulation(seed=1, horizon=200)
    sim.at(0, lambda: sim.spawn("bot", "simbot.drivers.ptb:naive"))
    sim.at(30, lambda: sim.telegram_fault(20, status=502))
    trace = sim.run()
    failed = [r for r in trace.of("request") if r["status"] == 502]
    assert failed and all(30 <= r["t"] < 50 for r in failed)
    assert judge(trace).checks["liveness"].passed


def test_scaling_out_adds_a_second_poller_and_scaling_in_removes_it():
    sim = Simulation(seed=1, horizon=300)
    service = Service(sim, preset("k8s_rolling_1"), "simbot.drivers.ptb:naive")
    sim.at(0, service.start)
    sim.at(30, lambda: service.scale(2))
    sim.at(90, lambda: service.scale(1))
    trace = sim.run()
    verdict = judge(trace)
    assert {e["instance"] for e in trace.of("spawn")} == {"bot.v1", "bot.v1.1"}
    assert all(30 <= v.t <= 90 + 30 for v in verdict.checks["single_poller"].violations)
    assert verdict.checks["single_poller"].violations and verdict.checks["liveness"].passed


def test_a_paused_instance_holds_its_poll_then_resumes():
    sim = Simulation(seed=1, horizon=120)
    sim.at(0, lambda: sim.spawn("bot", "simbot.drivers.ptb:naive"))
    sim.at(5, lambda: sim.pause(sim.instances[0], 40))
    trace = sim.run()
    polls = [r for r in trace.of("request") if r["method"] == "getUpdates"]
    assert not [r for r in polls if 5 < r["t"] < 45]  # frozen: no request for 40 s
    assert [r for r in polls if r["t"] >= 45]  # then it carries on
    assert [e["kind"] for e in trace if e["kind"] in ("pause", "resume")] == ["pause", "resume"]
