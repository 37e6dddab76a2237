"""Scenario and schedule searched together: the planted race (tests/explore/racer.py) is found,
shrunk to one deviation from FIFO, written, and replayed byte for byte; and every schedule within K."""

from __future__ import annotations

from pathlib import Path

import pytest

from simbot.cli import main
from simbot.explore import explore
from simbot.scenario import Bot, load, simulate

RACER = Bot(startup="tests.explore.racer:claims_the_poller_twice")
FAULTS = ("restart",)  # no drops: the racer's initialize() does not retry, a FIFO failure of its own


def test_fifo_search_never_finds_the_race_and_pct_finds_it_shrunk_to_one_deviation():
    assert not explore(RACER, "compose_recreate", examples=25, seed=0, faults=FAULTS, schedules="fifo").found
    found = explore(RACER, "compose_recreate", examples=25, seed=0, faults=FAULTS, schedules="pct")
    s = found.counterexample
    assert s is not None and found.verdict is not None
    assert len(s.schedule.deviations) == 1 and [e.kind for e in s.events] == ["start", "restart"]
    assert simulate(s).digest() == found.verdict.digest  # the written deviations are the run judged


def test_the_same_seed_and_n_give_the_same_schedule_whatever_the_jobs():
    one = explore(RACER, "compose_recreate", examples=30, seed=1, faults=FAULTS, schedules="random")
    two = explore(RACER, "compose_recreate", examples=30, seed=1, faults=FAULTS, schedules="random", jobs=2)
    assert one.counterexample is not None and one.counterexample == two.counterexample


def test_the_written_counterexample_replays_byte_for_byte(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code = main(["explore", "--policy", "tests.explore.racer:claims_the_poller_twice", "--platform", "compose_recreate",
                 "--examples", "25", "--faults", "restart", "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1 and "schedules: PCT" in out
    [written] = tmp_path.glob("*.toml")
    text = written.read_text()
    assert "[schedule]\ndeviations = [" in text and "under a schedule: FIFO except 1 pick" in text
    digest = next(line.split("trace ")[1].split()[0] for line in out.splitlines() if line.startswith("verdict:"))
    assert simulate(load(written)).digest() == digest == simulate(load(written)).digest()
    assert main(["replay", str(written)]) == 0


@pytest.mark.parametrize("value", ["pcts", "FIFO", ""])
def test_a_bad_schedules_value_exits_2_naming_the_option(value: str, capsys: pytest.CaptureFixture[str]):
    assert main(["explore", "--policy", "naive", "--platform", "render_worker", "--examples", "1", "--schedules", value]) == 2
    err = capsys.readouterr().err
    assert "simbot explore: --schedules: expected one of fifo, random, pct" in err and "Traceback" not in err


def _race_file(tmp_path: Path) -> Path:
    path = tmp_path / "race.toml"
    path.write_text('seed = 0\nhorizon = 100.0\nevents = [{ at = 0.0, kind = "start" }]\n[platform]\n'
                    'preset = "compose_recreate"\n[bot]\nstartup = "tests.explore.racer:claims_the_poller_twice"\n'
                    '[updates]\nevery = 10.0\nstart = 5.0\n')  # fmt: skip
    return path


def test_schedules_upto_finds_the_race_with_one_deviation_and_writes_it(tmp_path: Path, capsys):
    out = tmp_path / "found"
    assert main(["replay", str(_race_file(tmp_path)), "--schedules-upto", "1", "--out", str(out)]) == 1
    text = capsys.readouterr().out
    assert "failure at run" in text and "FIFO except 1 pick" in text
    [written] = out.glob("*.toml")
    assert len(load(written).schedule.deviations) == 1


def test_schedules_upto_0_is_fifo_alone_and_says_so(tmp_path: Path, capsys):
    assert main(["replay", str(_race_file(tmp_path)), "--schedules-upto", "0", "--out", str(tmp_path / "x")]) == 0
    assert "every schedule with ≤ 0 deviations from FIFO: 1 runs, no failure" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--schedules-upto", "9"], "--schedules-upto: expected 0 to 5"),
    (["--schedules-upto", "1", "--json"], "--json: not with --schedules-upto"),
    (["--max-runs", "3"], "--max-runs: only with --schedules-upto"),
])  # fmt: skip
def test_schedules_upto_bad_arguments_exit_2(argv: list[str], message: str, tmp_path: Path, capsys):
    assert main(["replay", str(_race_file(tmp_path)), *argv]) == 2
    assert message in capsys.readouterr().err
