"""Each policy's decisions against the fake, in process, in virtual time (issue 4)."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from fake_telegram import message_update
from simbot.check import judge
from simbot.drivers.ptb import with_policy
from simbot.sim.simulation import Simulation
from simbot.sim.trace import Trace
from simbot.startup import MemoryStore, policy


def requests(trace: Trace, instance: str, method: str | None = None) -> list[dict[str, Any]]:
    return [r for r in trace.of("request") if r["instance"] == instance and (method is None or r["method"] == method)]


def live_poller(sim: Simulation, name: str = "live") -> None:
    sim.at(0, lambda: sim.spawn(name, "simbot.drivers.ptb:naive"))


def test_exit_on_conflict_exits_1_on_the_first_409():
    sim = Simulation(seed=1, horizon=60)
    live_poller(sim)
    sim.at(5, lambda: sim.spawn("new", with_policy("exit-on-conflict")))
    trace = sim.run()
    assert [(e["instance"], e["code"]) for e in trace.of("exit")] == [("new", 1)]


def test_delay_probe_backoff_waits_then_checks_the_webhook_then_probes():
    sim = Simulation(seed=1, horizon=60)
    sim.at(0, lambda: sim.spawn("bot", with_policy("delay-probe-backoff")))
    trace = sim.run()
    mine = requests(trace, "bot")
    assert [(r["t"], r["method"]) for r in mine[:4]] == [
        (0.0, "getMe"), (10.0, "getWebhookInfo"), (10.0, "getUpdates"), (11.0, "deleteWebhook"),
    ]  # fmt: skip
    probe = mine[2]
    assert probe["params"] == {"limit": "1", "timeout": "1"} and probe["long_poll"]


def test_the_host_lock_stops_a_second_process_on_the_same_host_only():
    sim = Simulation(seed=1, horizon=60)
    sim.at(0, lambda: sim.spawn("first", with_policy("delay-probe-backoff"), host="box"))
    sim.at(1, lambda: sim.spawn("same-host", with_policy("delay-probe-backoff"), host="box"))
    sim.at(1, lambda: sim.spawn("other-host", with_policy("delay-probe-backoff"), host="elsewhere"))
    trace = sim.run()
    assert ("same-host", 0, 1.0) in [(e["instance"], e["code"], e["t"]) for e in trace.of("exit")]
    assert requests(trace, "same-host") == []  # it never talked to Telegram
    assert requests(trace, "other-host", "getUpdates")  # another container: the lock cannot see it


def test_the_probe_detects_a_poller_only_when_it_wins_a_race():
    """Two instances started 1 s apart: the first starts polling at 11 s, just as the second probes.

    The probe sees a 409 only because another poll arrived while it waited; a probe a
    moment earlier or later (test above) kicks the live poller and sees nothing.
    """
    sim = Simulation(seed=1, horizon=60)
    sim.at(0, lambda: sim.spawn("first", with_policy("delay-probe-backoff")))
    sim.at(1, lambda: sim.spawn("second", with_policy("delay-probe-backoff")))
    trace = sim.run()
    probe = requests(trace, "second", "getUpdates")[0]
    assert probe["status"] == 409 and probe["answered_at"] == 11.0
    assert [(e["instance"], e["code"]) for e in trace.of("exit")] == [("second", 0)]


def test_the_host_lock_is_released_when_its_process_is_killed():
    sim = Simulation(seed=1, horizon=60)
    sim.at(0, lambda: sim.spawn("first", with_policy("delay-probe-backoff"), host="box"))
    sim.at(5, lambda: sim.instances[0].kill())
    sim.at(6, lambda: sim.spawn("restarted", with_policy("delay-probe-backoff"), host="box"))
    trace = sim.run()
    assert requests(trace, "restarted", "getUpdates")  # the kernel dropped the dead process's flock


def test_a_webhook_counts_as_a_conflict_and_exits_gracefully():
    sim = Simulation(seed=1, horizon=60)
    sim.at(0, lambda: sim.set_webhook("https://example.com/hook"))
    sim.at(1, lambda: sim.spawn("bot", with_policy("delay-probe-backoff")))
    trace = sim.run()
    assert [(e["instance"], e["code"], e["t"]) for e in trace.of("exit")] == [("bot", 0, 11.0)]
    assert not requests(trace, "bot", "getUpdates")


def test_the_probe_kicks_a_live_poller_instead_of_detecting_it():
    sim = Simulation(seed=1, horizon=40)
    live_poller(sim)
    sim.at(3, lambda: sim.spawn("new", with_policy("delay-probe-backoff")))
    trace = sim.run()
    probe = requests(trace, "new", "getUpdates")[0]
    assert probe["t"] == 13.0 and probe["status"] == 200  # no conflict detected ...
    victim = next(r for r in trace.of("request") if r["kicked_by"] == probe["id"])
    assert victim["instance"] == "live" and victim["status"] == 409  # ... but the live poller got one
    assert any(v.evidence == (victim["id"], probe["id"]) for v in judge(trace).checks["single_poller"].violations)


def test_the_probe_takes_pending_updates_it_does_not_handle():
    sim = Simulation(seed=1, horizon=40)
    sim.at(1, lambda: sim.push(message_update("waiting", date=int(sim.epoch))))
    sim.at(0, lambda: sim.spawn("bot", with_policy("delay-probe-backoff")))
    trace = sim.run()
    probe = requests(trace, "bot", "getUpdates")[0]
    assert len(probe["update_ids"]) == 1  # taken by the probe, dropped, not confirmed ...
    assert [e["update_id"] for e in trace.of("handled")] == probe["update_ids"]  # ... so polling gets it again


def test_safe_start_polling_backs_off_5_10_15_20_then_exits_0():
    sim = Simulation(seed=1, horizon=400)
    live_poller(sim)
    sim.at(1, lambda: sim.spawn("new", with_policy("delay-probe-backoff", probe=False)))
    trace = sim.run()
    [exit_event] = trace.of("exit")
    assert (exit_event["instance"], exit_event["code"]) == ("new", 0)
    retries = [e for e in trace.of("log") if e["instance"] == "new" and "retrying in" in e["message"]]
    assert [e["message"].split("retrying in ")[1] for e in retries] == ["5 s", "10 s", "15 s", "20 s"]
    assert requests(trace, "live", "getUpdates")[-1]["t"] > exit_event["t"]  # the old one keeps polling


def test_start_only_detection_never_sees_a_409_after_start():
    sim = Simulation(seed=1, horizon=200)
    live_poller(sim)
    sim.at(1, lambda: sim.spawn("new", with_policy("delay-probe-backoff", probe=False, detect="start_only")))
    trace = sim.run()
    assert not trace.of("exit")  # retries for ever, like the naive bot
    assert sum(1 for r in requests(trace, "new", "getUpdates") if r["status"] == 409) > 5


def test_a_lease_lets_exactly_one_of_two_instances_poll():
    sim = Simulation(seed=1, horizon=120)
    sim.at(0, lambda: sim.spawn("a", with_policy("lease")))
    sim.at(1, lambda: sim.spawn("b", with_policy("lease")))
    trace = sim.run()
    assert requests(trace, "a", "getUpdates") and not requests(trace, "b", "getUpdates")
    assert judge(trace).passed


def test_on_sigterm_the_holder_confirms_and_releases_and_the_successor_takes_over():
    sim = Simulation(seed=1, horizon=120)
    sim.at(0, lambda: sim.spawn("old", with_policy("lease")))
    sim.at(5, lambda: sim.spawn("new", with_policy("lease")))
    for t in (10, 20, 29):
        sim.at(t, lambda: sim.push(message_update("hi", date=int(sim.epoch + sim.now()))))
    sim.at(30, lambda: sim.signal(sim.instances[0], signal.SIGTERM))
    trace = sim.run()
    verdict = judge(trace)
    assert verdict.passed, verdict.describe()
    after_stop = [r for r in requests(trace, "old", "getUpdates") if r["t"] >= 30.0]
    assert not [r for r in after_stop if r["long_poll"]]  # no stop-time call bumped into a kick
    first_new = requests(trace, "new", "getUpdates")[0]
    assert 30.0 <= first_new["t"] <= 32.0  # within retry_every of the release
    assert verdict.metrics["updates"]["duplicates"] == 0


def test_a_store_outage_stops_polling_before_the_lease_could_expire():
    sim = Simulation(seed=1, horizon=200)
    sim.shared["lease_store"] = MemoryStore(outages=[(20.0, 60.0)])
    sim.at(0, lambda: sim.spawn("a", with_policy("lease")))
    sim.at(1, lambda: sim.spawn("b", with_policy("lease")))
    trace = sim.run()
    verdict = judge(trace)
    assert verdict.passed, verdict.describe()
    polls = [r for r in trace.of("request") if r["method"] == "getUpdates"]
    # renewals every 4 s: the last one answered before the outage was sent at 16 s, so the
    # lease is good until 31 s and nothing may hold the slot past 31 - 2 (margin) = 29 s
    assert not [r for r in polls if 29.0 < (r["answered_at"] or 0) < 60.0 and r["t"] < 60.0]
    assert any("did not answer" in e["message"] for e in trace.of("log"))
    assert [r for r in polls if r["t"] > 60.0]  # after the outage someone polls again


def test_a_killed_holder_is_succeeded_after_the_ttl_and_its_ghost_is_kicked_silently():
    sim = Simulation(seed=1, horizon=120)
    sim.at(0, lambda: sim.spawn("old", with_policy("lease")))
    sim.at(1, lambda: sim.spawn("new", with_policy("lease")))
    sim.at(30, lambda: sim.instances[0].kill())
    trace = sim.run()
    verdict = judge(trace)
    assert verdict.passed, verdict.describe()
    first_new = requests(trace, "new", "getUpdates")[0]
    assert 30.0 < first_new["t"] <= 30.0 + 15.0 + 2.0


def test_a_pause_between_the_lease_check_and_the_poll_breaks_the_lease_as_documented():
    """The stated assumption, violated: frozen after computing the poll, longer than the lease."""
    sim = Simulation(seed=1, horizon=200)
    sim.at(0, lambda: sim.spawn("old", with_policy("lease")))
    sim.at(1, lambda: sim.spawn("new", with_policy("lease")))
    sim.at(20, lambda: sim.pause_before_next_poll(sim.instances[0], 30))  # old polls from 15 s (first use)
    trace = sim.run()
    verdict = judge(trace)
    [kick] = verdict.checks["single_poller"].violations
    assert kick.instances == ("new", "old") and kick.what == "old's getUpdates kicked new's live poll"
    assert 55.0 <= kick.t <= 56.0  # old resumes after 30 s and sends the poll it had decided on
    assert verdict.reached["pause_in_takeover"] == 1


def test_a_pause_that_lands_anywhere_else_is_survived():
    sim = Simulation(seed=1, horizon=200)
    sim.at(0, lambda: sim.spawn("old", with_policy("lease")))
    sim.at(1, lambda: sim.spawn("new", with_policy("lease")))
    sim.at(15, lambda: sim.pause(sim.instances[0], 30))  # mid-poll: the lease check runs after it
    verdict = judge(sim.run())
    assert verdict.passed, verdict.describe()


def test_lease_parameters_are_checked():
    with pytest.raises(ValueError, match="ttl 5 s must exceed"):
        policy("lease", store=MemoryStore(), ttl=5)
    with pytest.raises(ValueError, match="unknown start-up policy 'yolo'"):
        policy("yolo")
    with pytest.raises(ValueError, match="policy 'naive'"):
        policy("naive", nonsense=1)


def test_your_own_startup_runs_in_the_harness_by_import_path():
    from simbot.drivers.ptb import with_startup
    from simbot.platforms import preset
    from simbot.platforms.service import Service

    sim = Simulation(seed=1, horizon=400)
    service = Service(sim, preset("render_worker"), with_startup("tests.startup.custom:patient"))
    sim.at(0, service.start)
    sim.at(100, service.deploy)
    verdict = judge(sim.run())
    assert verdict.passed, verdict.describe()  # 90 s beats Render's 60 s hold, at a price:
    assert verdict.metrics["first_poll_after_deploy"] == [90.0] and verdict.metrics["downtime"] > 20


def test_a_holder_stopped_while_waiting_out_a_store_restart_does_not_release():
    """Released, its record would say "over" while the holder from before the restart still polls."""
    sim = Simulation(seed=1, horizon=120)
    sim.shared["lease_store"] = MemoryStore(wipes=[20.5])  # just after a's renewal at 20 s
    sim.at(0, lambda: sim.spawn("a", with_policy("lease")))
    sim.at(1, lambda: sim.spawn("b", with_policy("lease")))  # retries every 2 s: granted at 21 s, no record
    sim.at(22, lambda: sim.signal(sim.instances[1], signal.SIGTERM))
    sim.at(22.5, lambda: sim.spawn("c", with_policy("lease")))
    trace = sim.run()
    verdict = judge(trace)
    assert verdict.passed, verdict.describe()
    polls = [r for r in trace.of("request") if r["method"] == "getUpdates"]
    assert not [r for r in polls if 20.5 < r["t"] < 21.0 + 15.0]  # nobody polls before b's record expires


def test_no_confirm_is_sent_while_waiting_out_a_store_restart():
    """A holder that lost its record re-acquires it fresh; stopped then, it confirms its last batch only
    once the wait is over: a getUpdates earlier could kick a holder from before the restart."""
    sim = Simulation(seed=1, horizon=120)
    sim.shared["lease_store"] = MemoryStore(wipes=[30.5])
    sim.at(0, lambda: sim.spawn("a", with_policy("lease")))
    sim.at(18, lambda: sim.push(message_update("hi", date=int(sim.epoch + sim.now()))))
    sim.at(34, lambda: sim.signal(sim.instances[0], signal.SIGTERM))
    trace = sim.run()
    fresh = [e["t"] for e in trace.of("log") if "no record of the lease" in e["message"]]
    assert fresh[0] == 0.0 and 30.5 < fresh[1] < 34.0  # first use, then the restart
    polls = requests(trace, "a", "getUpdates")
    assert polls and not [r for r in polls if 30.5 <= r["t"] < fresh[1] + 15.0]
    assert polls[-1]["params"].get("timeout") == "0" and polls[-1]["answered_at"] is not None  # confirmed after


def test_a_store_that_answers_a_plain_true_is_waited_out_like_one_that_lost_its_data():
    class Yes(MemoryStore):  # a user's store from before Grant: it cannot say what it found
        async def acquire(self, key: str, owner: str, ttl: float) -> bool:  # type: ignore[override]
            return bool(await super().acquire(key, owner, ttl))

    sim = Simulation(seed=1, horizon=60)
    sim.shared["lease_store"] = Yes()
    sim.at(0, lambda: sim.spawn("a", with_policy("lease")))
    trace = sim.run()
    assert requests(trace, "a", "getUpdates")[0]["t"] == 15.0
