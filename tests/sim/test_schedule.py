"""Seeded scheduling (issue 15): FIFO unchanged, seeded orders found, enumerated, shrunk and replayed."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import tomllib
from collections import deque
from pathlib import Path

import pytest

from simbot.check import judge
from simbot.scenario import Bot, Event, Scenario, Updates, load, parse, save, simulate, to_toml
from simbot.sim.loop import VirtualLoop, _GatedHandle
from simbot.sim.process import current
from simbot.sim.schedule import COUNTED, Schedule, search, shrink, systematic
from simbot.sim.trace import Trace

RACE = Scenario(seed=0, horizon=1.0, platform="render_worker", bot=Bot(entry="tests.sim.race:race", policy=None),
                updates=Updates(start=0.0))
REFERENCE = Scenario(seed=0, horizon=180.0, platform="render_worker", bot=Bot(entry="simbot.drivers.ptb:naive", policy=None),
                     events=(Event(0.0, "start"), Event(30.0, "deploy")), updates=Updates(every=10.0, start=5.0))  # fmt: skip


def race(schedule: Schedule) -> Trace:
    return simulate(dataclasses.replace(RACE, schedule=schedule))


def failed(trace: Trace) -> bool:
    """The race shows: an instance died of the assertion that two tasks hold the slot."""
    return any("takes the slot" in e.get("error", "") + e.get("message", "") for e in trace.of("uncaught"))


# -- the race program (issue 15, item 5) ------------------------------------------------------


def test_fifo_never_shows_the_race_whatever_the_scenario_seed():
    """Seeds move latency, drops and update ids, never the order: 1000 seeds, 0 failures."""
    assert not any(failed(simulate(dataclasses.replace(RACE, seed=seed))) for seed in range(1000))


def test_the_failure_predicate_sees_the_race_when_it_happens():
    trace = race(Schedule(deviations=((0, 1),)))
    assert failed(trace) and trace.of("uncaught")[0]["instance"] == "bot.v1"


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_random_and_pct_find_the_race_within_a_few_runs(strategy: str):
    found = search(race, failed, strategy=strategy, runs=10)
    assert found is not None and found.runs <= 5, found
    assert failed(found.trace)


def test_systematic_mode_finds_it_with_one_deviation_and_says_what_it_covered():
    coverage = systematic(race, failed, deviations=1)
    assert coverage.failure is not None and len(coverage.failure.schedule.deviations) == 1
    assert coverage.describe().startswith(f"failure at run {coverage.runs}: FIFO except 1 pick: ")
    blind = systematic(race, lambda trace: False, deviations=1)  # nothing fails: every such schedule is run
    choices = race(COUNTED).meta["schedule"]["choices"]
    assert blind.complete and blind.runs == 1 + sum(c - 1 for c in choices) > 2
    assert blind.describe() == f"every schedule with ≤ 1 deviation from FIFO: {blind.runs} runs, no failure"
    cut = systematic(race, lambda trace: False, deviations=2, max_runs=3)
    assert not cut.complete and cut.describe().startswith("stopped after 3 runs, NOT every schedule with ≤ 2")


def test_a_found_race_shrinks_to_one_deviation_and_replays_byte_for_byte_from_its_file(tmp_path: Path):
    found = search(race, failed, strategy="random", runs=10)
    assert found is not None and len(found.schedule.deviations) > 1  # random deviates at most choice points
    small = shrink(race, failed, found)
    assert len(small.schedule.deviations) == 1 and failed(small.trace)
    assert race(found.schedule).digest() == found.trace.digest()  # the random run, as explicit deviations
    path = tmp_path / "race.toml"
    save(dataclasses.replace(RACE, schedule=small.schedule), path)
    assert "[schedule]\ndeviations = [" in path.read_text()
    again = simulate(load(path))
    assert again.jsonl() == small.trace.jsonl() and failed(again)
    assert again.of("schedule") == [{"t": again.of("schedule")[0]["t"], "kind": "schedule", "instance": None,
                                     "picks": [list(d) for d in small.schedule.deviations]}]  # fmt: skip


# -- FIFO stays what it was; every other schedule replays --------------------------------------


def test_fifo_runs_without_a_picker_and_the_counted_mechanism_changes_nothing():
    plain = simulate(REFERENCE)
    counted = simulate(dataclasses.replace(REFERENCE, schedule=COUNTED))
    assert plain.digest() == counted.digest() == "f718093d9d5da5d9"  # the README's demo, unchanged
    assert "schedule" not in plain.meta and not plain.of("schedule")
    assert len(counted.meta["schedule"]["choices"]) > 100 and counted.meta["schedule"]["picks"] == []


@pytest.mark.parametrize("schedule", [Schedule("random", seed=3), Schedule("pct", seed=3, depth=3, steps=176)])
def test_a_seeded_run_of_real_bots_replays_from_its_recorded_picks(schedule: Schedule):
    trace = simulate(dataclasses.replace(REFERENCE, schedule=schedule))
    picks = trace.meta["schedule"]["picks"]
    assert picks and trace.of("schedule")[0]["picks"] == picks
    assert trace.digest() != simulate(REFERENCE).digest()  # another order, another run
    again = simulate(dataclasses.replace(REFERENCE, schedule=Schedule.replaying(picks)))
    assert again.jsonl() == trace.jsonl()
    assert judge(again).status == judge(trace).status


def test_a_deviation_that_does_not_fit_the_run_is_recorded_not_silently_dropped():
    trace = race(Schedule(deviations=((0, 7),)))  # only two owners there
    assert trace.of("schedule")[0]["ignored"] == [[0, 7, 2]] and not failed(trace)


# -- what a pick may reorder -------------------------------------------------------------------


def batch(owners: str) -> deque[asyncio.Handle]:
    loop = asyncio.new_event_loop()
    who = {name: object() for name in set(owners)}
    handles = deque(_GatedHandle(who[name], print, (f"{name}{i}",), loop, contextvars.copy_context())  # type: ignore[arg-type]
                    for i, name in enumerate(owners))  # fmt: skip
    loop.close()
    return handles


def names(ready: deque[asyncio.Handle]) -> str:
    return "".join(h._args[0][0] for h in ready)  # type: ignore[attr-defined]


def test_picks_reorder_owners_but_each_owner_keeps_its_own_order():
    orders = set()
    for seed in range(40):
        ready = batch("aabca")
        picker = Schedule("random", seed=seed).picker()
        assert picker is not None
        picker.order(ready)
        labels = [h._args[0] for h in ready]  # type: ignore[attr-defined]
        assert [x for x in labels if x[0] == "a"] == ["a0", "a1", "a4"], labels
        orders.add(names(ready))
    assert len(orders) >= 6  # every interleaving of a's three with b and c shows up


def test_a_deviation_picks_the_kth_owner_by_first_appearance():
    ready = batch("aabc")
    picker = Schedule(deviations=((0, 2),)).picker()
    assert picker is not None
    picker.order(ready)
    assert names(ready) == "caab" and picker.choices == [3, 2, 2] and picker.picks == [(0, 2)]


def test_the_harness_actions_of_one_instant_keep_file_order_under_any_schedule():
    """A scale to 3 then a crash of replica 2 at the same instant: reordered, the crash would find no replica."""
    scenario = Scenario(seed=0, horizon=20.0, platform="render_worker", bot=Bot(entry="tests.sim.race:race", policy=None),
                        events=(Event(0.0, "start"), Event(5.0, "scale", {"replicas": 3}), Event(5.0, "crash", {"replica": 2})))  # fmt: skip
    for seed in range(8):
        trace = simulate(dataclasses.replace(scenario, schedule=Schedule("random", seed=seed)))
        assert [e["t"] for e in trace.of("crash")] == [5.0], seed


def test_a_paused_instance_stays_held_and_a_killed_one_dropped_under_a_seeded_schedule():
    scenario = dataclasses.replace(REFERENCE, horizon=90.0, events=(
        Event(0.0, "start"), Event(10.0, "pause", {"seconds": 20.0}), Event(50.0, "crash", {"replica": 0})))  # fmt: skip
    for schedule in (Schedule("random", seed=1), Schedule("pct", seed=1, depth=3)):
        trace = simulate(dataclasses.replace(scenario, schedule=schedule))
        sent = [r["t"] for r in trace.of("request") if r["instance"] == "bot.v1"]
        assert sent and not [t for t in sent if 10.0 < t < 30.0 or t > 50.0], (schedule, sent)


# -- scenario files --------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", [Schedule("random", seed=9), Schedule("pct", seed=2, depth=4, steps=50),
                                      Schedule(deviations=((3, 1), (17, 2)))])  # fmt: skip
def test_a_schedule_round_trips_through_a_scenario_file(schedule: Schedule):
    scenario = dataclasses.replace(RACE, schedule=schedule)
    assert parse(tomllib.loads(to_toml(scenario))) == scenario


def test_a_fifo_scenario_file_has_no_schedule_table():
    assert "schedule" not in to_toml(RACE)
    assert parse(tomllib.loads(to_toml(RACE) + '[schedule]\nstrategy = "fifo"\n')).schedule.fifo


def test_a_timer_due_now_is_part_of_the_batch_it_joins():
    """Timers that fall due join the ready callbacks before the order is chosen, as ``_run_once`` adds them:
    a deviation can run another owner's timer before a callback that was ready first."""

    class Owner:
        dead = paused = False
        process = None

    def owned() -> contextvars.Context:
        context = contextvars.copy_context()
        context.run(current.set, Owner())  # type: ignore[arg-type]
        return context

    for schedule, expected in ((Schedule(), ["soon", "timer"]), (Schedule(deviations=((0, 1),)), ["timer", "soon"])):
        loop, log = VirtualLoop(schedule=schedule), []
        loop.call_soon(log.append, "soon", context=owned())
        loop.call_at(0.0, log.append, "timer", context=owned())
        loop.call_at(1.0, loop.stop)
        loop.run_forever()
        loop.close()
        assert log == expected
