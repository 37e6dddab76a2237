"""The crash record: an uncaught exception is an ``uncaught`` event naming the bot's own line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation

CRASHY = '''import asyncio


class Broken:
    pass


def configure():
    raise ValueError(f"bad config {Broken()!r}\\nsecond line")


async def main(info):
    await asyncio.sleep(2)
    configure()
'''

RUN = '''import sys
from simbot.sim.simulation import Simulation
sim = Simulation(seed=3, horizon=10)
sim.at(0, lambda: sim.spawn("bot", "crashy:main"))
trace = sim.run()
print(trace.digest())
print(trace.jsonl())
'''


def test_an_uncaught_exception_in_the_entry_is_recorded_before_its_exit() -> None:
    async def crashes(info: InstanceContext) -> None:
        await asyncio.sleep(2)
        {}["missing"]

    sim = Simulation(seed=1, horizon=10)
    sim.at(0, lambda: sim.spawn("bot.v2", crashes))
    trace = sim.run()
    kinds = [(r["kind"], r["instance"]) for r in trace if r["kind"] in ("uncaught", "exit")]
    assert kinds == [("uncaught", "bot.v2"), ("exit", "bot.v2")]
    [crash] = trace.of("uncaught")
    assert crash["type"] == "KeyError" and crash["message"] == "'missing'" and crash["t"] == 2.0
    assert crash["where"].startswith("tests/sim/test_crash.py:") and crash["where"].endswith(" in crashes")
    assert trace.of("exit")[0]["code"] == 1


def test_an_exception_raised_while_importing_the_bot_in_its_entry_names_the_module_line(tmp_path: Path) -> None:
    (tmp_path / "crashy_import.py").write_text("import telegram.error\nraise telegram.error.InvalidToken('token at 0x7f3a12345678')\n")
    sys.path.insert(0, str(tmp_path))

    async def imports(info: InstanceContext) -> None:
        import crashy_import  # noqa: F401 - its import raises

    try:
        sim = Simulation(seed=1, horizon=10)
        sim.at(0, lambda: sim.spawn("bot", imports))
        trace = sim.run()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("crashy_import", None)
    [crash] = trace.of("uncaught")
    assert crash["type"] == "telegram.error.InvalidToken"
    assert crash["message"] == "token at 0x…"
    assert crash["where"] == f"{tmp_path}/crashy_import.py:2 in <module>"


def test_a_base_exception_from_the_entry_ends_the_instance_with_a_record_not_a_zombie() -> None:
    class Odd(BaseException):
        pass

    async def raises(info: InstanceContext) -> None:
        raise Odd("odd")

    sim = Simulation(seed=1, horizon=10)
    sim.at(0, lambda: sim.spawn("bot", raises))
    trace = sim.run()
    assert [e["code"] for e in trace.of("exit")] == [1] and trace.meta["ended_by"] == "quiet"
    assert trace.of("uncaught")[0]["type"].endswith("Odd")


def test_the_same_bot_in_two_directories_gives_the_same_trace(tmp_path: Path) -> None:
    digests = []
    for name in ("one", "two/deeper"):
        where = tmp_path / name
        where.mkdir(parents=True)
        (where / "crashy.py").write_text(CRASHY)
        env = {**os.environ, "PYTHONPATH": str(where)}
        result = subprocess.run([sys.executable, "-c", RUN], cwd=where, env=env, capture_output=True, text=True, check=True)
        digest, *lines = result.stdout.splitlines()
        digests.append(digest)
    crash = next(line for line in lines if '"uncaught"' in line)
    assert '"where":"crashy.py:9 in configure"' in crash and "0x…" in crash and "second line" not in crash
    assert digests[0] == digests[1]
