"""The watchdog stops a spinning bot whatever it does about it (tiny real-time budgets)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation


def stopped(entry) -> dict:  # type: ignore[no-untyped-def]
    sim = Simulation(seed=1, horizon=100, watchdog=0.3)
    sim.at(0, lambda: sim.spawn("spinner", entry))
    trace = sim.run()
    assert trace.meta["ended_by"] == "watchdog"
    [event] = trace.of("watchdog")
    assert event["instance"] == "spinner", event
    assert event["where"].startswith("tests/sim/test_watchdog.py:"), event
    return {"trace": trace, "event": event}


def test_a_bot_spinning_in_pure_python_is_stopped_at_its_line() -> None:
    async def spinner(info: InstanceContext) -> None:
        await asyncio.sleep(1)
        while True:
            pass

    assert stopped(spinner)["event"]["where"].endswith(" in spinner")


def test_a_bot_that_swallows_the_watchdog_in_its_loop_is_still_stopped() -> None:
    caught: list[str] = []

    async def spinner(info: InstanceContext) -> None:
        await asyncio.sleep(1)
        while True:
            try:
                while True:
                    pass
            except BaseException as exc:
                caught.append(type(exc).__name__)

    stopped(spinner)
    assert caught == []  # the handler's first line raised it again: none of it ran


def test_a_bot_cannot_ignore_or_move_the_watchdogs_timer() -> None:
    refused: list[str] = []

    async def spinner(info: InstanceContext) -> None:
        for call in (lambda: signal.signal(signal.SIGALRM, signal.SIG_IGN), lambda: signal.setitimer(signal.ITIMER_REAL, 0),
                     lambda: signal.alarm(0), lambda: signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})):  # fmt: skip
            try:
                call()
            except RuntimeError:
                refused.append("refused")
        signal.signal(signal.SIGUSR1, signal.getsignal(signal.SIGUSR1))  # other signals are the bot's business
        await asyncio.sleep(1)
        while True:
            pass

    run = stopped(spinner)
    assert refused == ["refused"] * 4
    findings = [f["what"] for f in run["trace"].of("finding")]
    assert findings == ["signal.signal(SIGALRM)", "signal.setitimer(ITIMER_REAL)", "signal.alarm",
                        "signal.pthread_sigmask blocking SIGALRM"]  # fmt: skip
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None) or callable(signal.getsignal(signal.SIGALRM))


HARD_CASE = """
import asyncio, collections, itertools, sys
import simbot.sim.watchdog as watchdog
from simbot.sim.simulation import Simulation

watchdog.HARD_STOP_GRACE = 0.5

async def stuck(info):
    await asyncio.sleep(1)
    BODY

sim = Simulation(seed=1, horizon=100, watchdog=0.3)
sim.at(0, lambda: sim.spawn("stuck", stuck))
sim.run()
print("the run returned")
"""
NESTED_CATCH_ALL = """while True:
        try:
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
        except BaseException:
            pass"""


def hard_case(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "stuck.py"
    script.write_text(HARD_CASE.replace("BODY", body))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "the run returned" not in result.stdout
    return result


def test_a_bot_that_outlasts_the_watchdog_ends_the_process_with_a_distinct_code_and_says_where(tmp_path: Path) -> None:
    result = hard_case(tmp_path, NESTED_CATCH_ALL)
    assert result.returncode == 124, result
    assert "simbot: watchdog: stuck did not stop" in result.stderr and "stuck.py:" in result.stderr, result.stderr


def test_a_bot_stuck_in_c_code_holding_the_gil_ends_the_process_with_its_stack(tmp_path: Path) -> None:
    result = hard_case(tmp_path, "collections.deque(itertools.repeat(0), maxlen=0)  # C, never back to Python")
    assert result.returncode == 1, result
    assert "Timeout" in result.stderr and 'stuck.py", line 10 in stuck' in result.stderr, result.stderr
