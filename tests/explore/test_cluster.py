"""``--cluster``: chunks on Dask give the same answer as one process; bad values exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from simbot.cli import main

pytest.importorskip("distributed")


def _run(tmp_path: Path, name: str, policy: str, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, bytes]:
    out = tmp_path / name
    code = main(["explore", "--policy", policy, "--platform", "render_worker", "--examples", "50", "--seed", "0",
                 "--out", str(out), *extra])  # fmt: skip
    summary = capsys.readouterr().out.splitlines()[0]
    files = sorted(out.glob("*.toml"))
    return code, summary.split(" simulations")[0] + summary.split("chunk(s)")[0][-3:], files[0].read_bytes() if files else b""


@pytest.mark.parametrize("policy", ["naive", "lease"])
def test_a_local_cluster_gives_the_answer_of_one_process(tmp_path: Path, policy: str, capsys: pytest.CaptureFixture[str]):
    one = _run(tmp_path, "one", policy, "--jobs", "1", capsys=capsys)
    dask = _run(tmp_path, "dask", policy, "--cluster", "local:2", capsys=capsys)
    assert one == dask
    assert one[0] == (1 if policy == "naive" else 0)


@pytest.mark.parametrize("value", ["local:0", "local:x", "nope", "tcp://"])
def test_a_bad_cluster_value_exits_2_naming_the_option(value: str, capsys: pytest.CaptureFixture[str]):
    assert main(["explore", "--policy", "naive", "--platform", "render_worker", "--cluster", value]) == 2
    assert "--cluster" in capsys.readouterr().err


def test_the_watchdog_stops_a_spinning_bot_on_a_dask_worker():
    """A Dask task runs in a worker thread, where SIGALRM cannot reach: the chunk's child process can."""
    from simbot.explore import executors
    from tests.explore.spinner import ended_by

    with executors.pool(1, "local:1") as pool:
        assert pool.submit(ended_by).result(timeout=60) == "watchdog"
