"""Checkers on hand-built traces, passing and failing (docs/checkers.md)."""

from __future__ import annotations

from typing import Any

from simbot.check import judge
from simbot.report import timeline
from simbot.sim.trace import Trace


class Builder:
    """Write a trace by hand: lifecycle events and the server's request log."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.next_id = 0

    def event(self, t: float, kind: str, instance: str | None = None, **data: Any) -> Builder:
        self.records.append({"t": t, "kind": kind, "instance": instance, **data})
        return self

    def spawn(self, t: float, name: str) -> Builder:
        return self.event(t, "spawn", name)

    def exit(self, t: float, name: str, code: int = 0) -> Builder:
        return self.event(t, "exit", name, code=code)

    def poll(self, t: float, name: str, *, until: float | None, status: int | None = 200, kicked: int | None = None,
             kicked_by: int | None = None, abandoned_at: float | None = None, long_poll: bool = True,
             update_ids: tuple[int, ...] = (), offset: int | None = None) -> int:  # fmt: skip
        request_id = self.next_id
        self.next_id += 1
        params = {} if offset is None else {"offset": str(offset)}
        self.records.append({
            "t": t, "kind": "request", "id": request_id, "instance": name, "method": "getUpdates",
            "params": params, "status": status, "description": None, "answered_at": until,
            "abandoned_at": abandoned_at, "long_poll": long_poll, "kicked_by": kicked_by, "kicked": kicked,
            "update_ids": list(update_ids),
        })  # fmt: skip
        return request_id

    def link(self, victim: int, kicker: int) -> None:
        by_id = {r.get("id"): r for r in self.records if r["kind"] == "request"}
        by_id[victim]["kicked_by"], by_id[kicker]["kicked"] = kicker, victim

    def trace(self, horizon: float) -> Trace:
        return Trace(sorted(self.records, key=lambda r: r["t"]), horizon=horizon)


def test_one_poller_throughout_passes_everything():
    b = Builder().spawn(0, "a")
    for t in range(0, 300, 10):
        b.poll(t, "a", until=t + 10)
    verdict = judge(b.trace(300))
    assert verdict.passed and verdict.checks["liveness"].passed
    assert verdict.metrics["downtime"] == 0 and verdict.metrics["overlap"] == 0


def test_a_live_poll_kicked_by_another_live_instance_is_a_violation_with_evidence():
    b = Builder().spawn(0, "old").spawn(20, "new")
    first = b.poll(0, "old", until=30, status=409)
    second = b.poll(25, "new", until=300)
    b.link(first, second)
    verdict = judge(b.trace(300))
    [violation] = verdict.checks["single_poller"].violations
    assert (violation.t, violation.instances, violation.evidence) == (25, ("old", "new"), (first, second))
    assert verdict.reached["two_pollers"] == 1 and verdict.reached["conflict_409"] == 1


def test_kicking_a_ghost_whose_owner_died_or_gave_up_is_not_a_violation():
    b = Builder().spawn(0, "dead").spawn(0, "timed_out").spawn(20, "new")
    ghost = b.poll(0, "dead", until=21, status=409)
    b.exit(10, "dead", code=137)
    abandoned = b.poll(12, "timed_out", until=31, status=409, abandoned_at=15)
    kicker = b.poll(20, "new", until=300)
    second = b.poll(30, "new", until=300)
    b.link(ghost, kicker)
    b.link(abandoned, second)
    verdict = judge(b.trace(300))
    assert verdict.checks["single_poller"].passed, verdict.describe()
    assert verdict.reached["client_timeout"] == 1


def test_a_probe_that_fetches_updates_while_another_instance_polls_is_a_violation():
    b = Builder().spawn(0, "live").spawn(5, "prober")
    b.poll(0, "live", until=300)
    b.poll(10, "prober", until=10, long_poll=False, update_ids=(7,))
    [violation] = judge(b.trace(300)).checks["single_poller"].violations
    assert "prober fetched updates while live was polling" in violation.what


def test_liveness_fails_with_nobody_polling_after_everyone_exits():
    b = Builder().spawn(0, "a")
    b.poll(0, "a", until=50, status=409)
    b.exit(51, "a", code=0).event(51, "stop", "a")
    verdict = judge(b.trace(300))
    assert verdict.checks["liveness"].passed is False and verdict.checks["liveness"].note == "zero pollers"


def test_liveness_fails_with_two_pollers_and_is_inconclusive_when_the_run_is_too_short():
    b = Builder().spawn(0, "a").spawn(0, "b")
    for t in range(0, 300, 10):
        b.poll(t, "a", until=t + 5)
        b.poll(t + 5, "b", until=t + 10)
    assert judge(b.trace(300)).checks["liveness"].passed is False
    short = Builder().spawn(0, "a").event(100, "deploy")
    short.poll(0, "a", until=150)
    assert judge(short.trace(150)).checks["liveness"].passed is None


def test_liveness_fails_when_polling_stops_too_long():
    b = Builder().spawn(0, "a")
    b.poll(0, "a", until=100)
    b.poll(200, "a", until=300)
    check = judge(b.trace(300)).checks["liveness"]
    assert check.passed is False and "polling stops for 100" in check.violations[0].what


def test_lost_and_duplicated_updates_and_sigkill_explained_duplicates_apart():
    b = Builder().spawn(0, "a").spawn(0, "b").spawn(0, "c")
    for uid, t in ((1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)):
        b.event(t, "push", None, update_id=uid)
    b.poll(5, "a", until=6, update_ids=(1, 2))  # a receives 1 and 2 ...
    b.poll(6, "a", until=7, offset=2)  # ... and confirms 1 only
    b.exit(8, "a", code=137)  # SIGKILL before confirming 2
    b.poll(10, "b", until=11, update_ids=(2,))  # explained: a was killed before confirming
    b.poll(12, "c", until=13, update_ids=(1,))  # a real duplicate: 1 was confirmed by a
    verdict = judge(b.trace(300))
    [duplicate] = verdict.checks["duplicates"].violations
    assert "update 1 received by a and again by c" in duplicate.what
    assert [v.what for v in verdict.checks["lost_updates"].violations] == [
        "update 3 never reached a live instance", "update 4 never reached a live instance",
    ]  # fmt: skip
    updates = verdict.metrics["updates"]
    assert (updates["lost"], updates["duplicates"], updates["duplicates_after_sigkill"]) == (2, 1, 1)


def test_an_update_whose_every_handling_was_cut_off_is_lost_and_one_finished_handling_is_enough():
    """``interrupted``: a process ended while its framework's dispatch of these updates still ran."""
    b = Builder().spawn(0, "a").spawn(0, "b")
    for uid, t in ((1, 1.0), (2, 2.0), (3, 3.0)):
        b.event(t, "push", None, update_id=uid)
    for t in range(0, 300, 10):
        b.poll(t, "b", until=t + 10)
    b.event(5, "handled", "a", update_id=1)  # cut off: lost
    b.event(5, "handled", "a", update_id=2)  # finished once by a ...
    b.event(70, "handled", "a", update_id=2)  # ... and cut off in its second handling: not lost
    b.event(6, "handled", "a", update_id=3)  # cut off in a, finished by b: not lost
    b.event(9, "handled", "b", update_id=3)
    b.event(80, "interrupted", "a", update_ids=[1, 2, 3]).exit(80, "a", code=137)
    verdict = judge(b.trace(300))
    assert [v.what for v in verdict.checks["lost_updates"].violations] == [
        "update 1 was taken but its handling never finished before its process ended: a (ended at 80 s)"]
    assert verdict.metrics["updates"]["lost_in_a_handler"] == 1


def test_an_answer_to_a_client_that_already_gave_up_was_not_received():
    b = Builder().spawn(0, "a").event(1, "push", None, update_id=9)
    b.poll(0, "a", until=2, update_ids=(9,), abandoned_at=1.5)
    assert judge(b.trace(300)).metrics["updates"]["lost"] == 1


def test_overlap_and_gap_count_live_pollers_not_slot_holders():
    b = Builder().spawn(0, "old").spawn(30, "new")
    b.poll(0, "old", until=300)
    b.poll(31, "new", until=300)
    b.exit(90, "old")
    assert judge(b.trace(300)).metrics["overlap"] == 59.0


def test_the_timeline_draws_a_lane_per_instance_with_409_markers():
    b = Builder().spawn(0, "old").spawn(20, "new").event(20, "deploy")
    first = b.poll(0, "old", until=23, status=409)
    second = b.poll(20, "new", until=90)
    b.link(first, second)
    b.exit(40, "old")
    lines = timeline(b.trace(90), width=90).splitlines()
    assert lines[1].startswith("platform |") and lines[1][9 + 21] == "D"
    old, new = lines[2], lines[3]
    assert old.startswith("old") and old[9 + 1 : 9 + 20] == "=" * 19 and old[9 + 24] == "!"
    assert new.startswith("new") and new[9 + 21 : 9 + 90] == "=" * 69


def test_the_platform_lane_never_hides_a_deploy_behind_an_exit_in_the_same_column():
    b = Builder().spawn(0, "old").spawn(20, "new").event(20, "deploy")
    b.poll(0, "old", until=20.2)
    b.poll(20.5, "new", until=90)
    b.exit(20.4, "old")
    b.event(40, "stop", "new")
    b.exit(40.2, "new")
    platform = timeline(b.trace(90), width=45).splitlines()[1]  # 2 s per column
    assert platform[10 + 10] == "D" and platform[10 + 20] == "S"


def test_a_poll_kicked_by_its_own_instance_is_not_a_violation():
    b = Builder().spawn(0, "a")
    first = b.poll(0, "a", until=10, status=409)
    second = b.poll(10, "a", until=300)
    b.link(first, second)
    assert judge(b.trace(300)).checks["single_poller"].passed


def test_a_kick_that_arrives_after_its_sender_died_or_when_the_victim_gave_up_is_not_a_violation():
    b = Builder().spawn(0, "old").spawn(5, "ghost").spawn(0, "quitter").spawn(50, "new")
    victim = b.poll(0, "old", until=21, status=409)
    late = b.poll(21, "ghost", until=21, status=200)  # in flight when its sender died at 20
    b.exit(20, "ghost", code=137)
    b.link(victim, late)
    gave_up = b.poll(30, "quitter", until=60, status=409, abandoned_at=60)  # gave up at the very kick
    kicker = b.poll(60, "new", until=300)
    b.link(gave_up, kicker)
    assert judge(b.trace(300)).checks["single_poller"].passed, judge(b.trace(300)).describe()


def test_a_fetch_its_client_never_received_or_sent_after_death_is_not_a_second_poller():
    b = Builder().spawn(0, "live").spawn(5, "prober").spawn(5, "dead")
    b.poll(0, "live", until=300)
    b.poll(10, "prober", until=12, long_poll=False, update_ids=(7,), abandoned_at=11)  # it gave up before
    b.exit(14, "dead", code=137)
    b.poll(15, "dead", until=15, long_poll=False, update_ids=(8,))  # arrived after its sender died
    assert judge(b.trace(300)).checks["single_poller"].passed


def test_liveness_fails_when_polling_stops_just_longer_than_the_bound():
    b = Builder().spawn(0, "a")
    b.poll(0, "a", until=100)
    b.poll(160.5, "a", until=300)
    check = judge(b.trace(300)).checks["liveness"]
    assert check.passed is False and "polling stops for 60.5" in check.violations[0].what


def test_liveness_fails_when_the_only_poll_ends_exactly_where_judging_starts():
    b = Builder().spawn(0, "a").event(10, "deploy")
    b.poll(0, "a", until=70)  # settle = 10 + 60: nobody polls from there on
    check = judge(b.trace(100)).checks["liveness"]
    assert check.passed is False and check.note == "zero pollers"


def test_liveness_is_inconclusive_when_the_run_ends_exactly_where_judging_would_start():
    b = Builder().spawn(0, "a").event(40, "deploy")
    b.poll(0, "a", until=100)
    assert judge(b.trace(100)).checks["liveness"].passed is None


def test_liveness_fails_when_polling_stops_before_the_end_of_the_run():
    b = Builder().spawn(0, "a")
    b.poll(0, "a", until=100)
    check = judge(b.trace(300)).checks["liveness"]
    assert check.passed is False and "polling stops for 200" in check.violations[0].what


def test_an_instance_the_platform_stops_for_good_without_a_crash_leaves_nobody_polling():
    b = Builder().spawn(0, "a").event(1, "push", None, update_id=1)
    b.poll(0, "a", until=50)
    b.event(50, "stop", "a").exit(50, "a", code=0).event(50, "stays_down", "a")
    verdict = judge(b.trace(300))
    assert verdict.checks["liveness"].passed is False and verdict.checks["lost_updates"].passed is False


def test_an_update_a_live_bot_had_just_over_a_minute_to_get_is_lost():
    b = Builder().spawn(0, "a").event(230, "push", None, update_id=5)
    b.poll(0, "a", until=300)
    check = judge(b.trace(300)).checks["lost_updates"]
    assert check.passed is False and check.violations[0].what == "update 5 never reached a live instance"


def test_an_update_pushed_within_a_minute_of_a_held_restart_is_queued_not_lost():
    b = Builder().spawn(0, "a").event(20, "push", None, update_id=1).event(90, "push", None, update_id=2)
    b.poll(0, "a", until=100)
    b.exit(100, "a", code=1).event(100, "restart_scheduled", "a", delay=500.0)
    verdict = judge(b.trace(300))
    assert [v.what for v in verdict.checks["lost_updates"].violations] == ["update 1 never reached a live instance"]
    assert verdict.metrics["updates"]["queued_while_restart_held"] == 1


def test_a_duplicate_after_a_refused_confirm_is_counted_apart_even_if_confirmed_later():
    b = Builder().spawn(0, "a").spawn(0, "b").event(1, "push", None, update_id=1)
    b.poll(5, "a", until=6, update_ids=(1,))
    b.poll(6, "a", until=6, status=429, offset=2)  # Telegram refused the confirm
    b.poll(10, "b", until=11, update_ids=(1,))
    b.poll(20, "a", until=21, offset=2)  # confirmed only after b got it again
    verdict = judge(b.trace(300))
    assert verdict.checks["duplicates"].passed
    assert verdict.metrics["updates"]["duplicates_after_refused_confirm"] == 1


def test_a_poll_whose_client_gave_up_or_whose_owner_died_is_not_polling():
    for gone in ({"abandoned_at": 50.0}, {}):
        b = Builder().spawn(0, "a")
        b.poll(0, "a", until=None, **gone)  # the server still holds it to the end
        if not gone:
            b.exit(50, "a", code=137)
        check = judge(b.trace(300)).checks["liveness"]
        assert check.passed is False and check.note == "zero pollers", gone


def test_liveness_is_judged_from_the_end_of_an_outage_or_a_scheduled_restart():
    for kind, length in (("outage", {"seconds": 100.0}), ("restart_scheduled", {"delay": 100.0})):
        b = Builder().spawn(0, "a").event(50, kind, "a" if kind != "outage" else None, **length)
        b.poll(0, "a", until=100)
        b.poll(180, "a", until=300)  # an 80 s gap, all of it before 50 + 100 + 60 s
        check = judge(b.trace(300)).checks["liveness"]
        assert check.passed and "settled at 210 s" in check.note, kind


def test_an_answer_that_ended_its_process_at_that_instant_was_received():
    b = Builder().spawn(0, "a").spawn(0, "b").event(1, "push", None, update_id=1)
    b.poll(0, "a", until=50, update_ids=(1,))
    b.exit(50, "a", code=1)  # the bot os._exit()s on what it got, by its own hand
    b.poll(50, "b", until=300, offset=2)
    assert judge(b.trace(300)).checks["lost_updates"].passed
