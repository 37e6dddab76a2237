"""``--cluster``: chunks on Dask give the same answer as one process; bad values exit 2; a worker
with other code is refused."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from simbot.cli import main
from simbot.scenario import Bot

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """One LocalCluster of 2 workers for the module (`local:N` itself is tried once, below)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as local:  # fmt: skip
        yield local.scheduler_address


def _run(tmp_path: Path, name: str, policy: str, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, bytes]:
    out = tmp_path / name
    code = main(["explore", "--policy", policy, "--platform", "render_worker", "--examples", "50", "--seed", "0",
                 "--out", str(out), *extra])  # fmt: skip
    summary = capsys.readouterr().out.splitlines()[0]
    files = sorted(out.glob("*.toml"))
    return code, summary.split(" simulations")[0] + summary.split("chunk(s)")[0][-3:], files[0].read_bytes() if files else b""


def test_a_local_cluster_gives_the_answer_of_one_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    one = _run(tmp_path, "one", "naive", "--jobs", "1", capsys=capsys)
    dask = _run(tmp_path, "dask", "naive", "--cluster", "local:2", capsys=capsys)
    assert one == dask
    assert one[0] == 1 and one[2]  # found, and the same counterexample file byte for byte


def test_a_cluster_at_an_address_gives_the_answer_of_one_process(tmp_path: Path, cluster: str,
                                                                 capsys: pytest.CaptureFixture[str]):  # fmt: skip
    one = _run(tmp_path, "one", "lease", "--jobs", "1", capsys=capsys)
    dask = _run(tmp_path, "dask", "lease", "--cluster", cluster, capsys=capsys)
    assert one == dask
    assert one[0] == 0


@pytest.mark.parametrize("value", ["local:0", "local:x", "nope", "tcp://"])
def test_a_bad_cluster_value_exits_2_naming_the_option(value: str, capsys: pytest.CaptureFixture[str]):
    assert main(["explore", "--policy", "naive", "--platform", "render_worker", "--cluster", value]) == 2
    assert "--cluster" in capsys.readouterr().err


def test_the_watchdog_stops_a_spinning_bot_on_a_dask_worker(cluster: str):
    """A Dask task runs in a worker thread, where SIGALRM cannot reach: the chunk's child process can."""
    from simbot.explore import executors
    from tests.explore.spinner import ended_by

    with executors.pool(1, cluster) as pool:
        assert pool.submit(ended_by, Bot(policy="naive")).result(timeout=60) == "watchdog"


def test_a_worker_with_other_code_is_refused_before_it_runs_a_chunk(tmp_path: Path, cluster: str, monkeypatch,
                                                                    capsys: pytest.CaptureFixture[str]):  # fmt: skip
    """Its answers would be another code's: merged, they could hide the client's bug (a false PASS)."""
    from simbot.explore import executors, fingerprint

    real = fingerprint.fingerprint
    monkeypatch.setattr(executors, "fingerprint", lambda bot: {**real(bot), "hypothesis": "6.0.0"})  # the client's view
    code = main(["explore", "--policy", "naive", "--platform", "render_worker", "--examples", "25",
                 "--cluster", cluster, "--out", str(tmp_path)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and not list(tmp_path.iterdir())
    assert "simbot explore: --cluster: the worker on " in err
    assert "hypothesis " in err and "here, 6.0.0 on the client" in err


def test_the_fingerprint_covers_python_the_libraries_simbot_and_the_bot_script(tmp_path: Path):
    from simbot.explore.fingerprint import fingerprint

    script = tmp_path / "bot.py"
    script.write_text("print('one')\n")
    first = fingerprint(Bot(script=str(script)))
    assert {"python", "hypothesis", "python-telegram-bot", "aiogram", "simbot source", "fake_telegram source"} <= set(first)
    other = tmp_path / "other.py"
    other.write_text("print('two')\n")
    assert fingerprint(Bot(script=str(other)))["bot"] != first["bot"]
    assert fingerprint(Bot(policy="lease"))["bot"] == "simbot's own"
