"""The user's bot as written: script, -m and main targets in simulated processes (simbot.sim.program)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from fake_telegram import message_update
from simbot.sim import program
from simbot.sim.process import EntryPoint
from simbot.sim.simulation import Simulation

PROGRAMS = Path(__file__).parent / "programs"


def run(*bots: tuple[str, EntryPoint, dict[str, str]], horizon: float = 30.0, updates: float | None = None,
        actions: list[tuple[float, Any]] = (), watchdog: float | None = 30.0) -> tuple[Simulation, list[dict[str, Any]]]:  # fmt: skip
    sim = Simulation(seed=0, horizon=horizon, watchdog=watchdog)
    for name, entry, env in bots:
        sim.spawn(name, entry, env={"BOT_TOKEN": sim.token, **env})
    if updates:
        t = updates
        while t < horizon:
            sim.at(t, lambda: sim.push(message_update("hello", date=int(sim.epoch + sim.now()))))
            t += updates
    for t, action in actions:
        sim.at(t, lambda action=action: action(sim))
    trace = sim.run()
    return sim, list(trace)


def script(name: str, *argv: str) -> EntryPoint:
    return program.script(str(PROGRAMS / name), argv)


def lines(records: list[dict[str, Any]], instance: str) -> list[tuple[float, str]]:
    return [(r["t"], line) for r in records if r["kind"] == "output" and r["instance"] == instance
            for line in r["text"].split("\n")]  # fmt: skip


def requests(records: list[dict[str, Any]], instance: str, method: str) -> list[float]:
    return [r["t"] for r in records if r["kind"] == "request" and r.get("instance") == instance and r["method"] == method]


def exits(records: list[dict[str, Any]]) -> dict[str, tuple[float, int]]:
    return {r["instance"]: (r["t"], r["code"]) for r in records if r["kind"] == "exit"}


def test_ptb_run_polling_from_a_sync_main_blocks_on_the_virtual_clock() -> None:
    _, records = run(("bot.v1", script("ptb_sync.py"), {}), ("bot.v2", script("ptb_sync.py"), {}),
                       updates=5.0, actions=[(1.0, lambda s: None)])  # fmt: skip
    for name in ("bot.v1", "bot.v2"):
        assert requests(records, name, "getMe") == [2.0]  # time.sleep(2) before building the app
        assert requests(records, name, "deleteWebhook") == [12.0]  # post_init slept 10 s
        assert requests(records, name, "getUpdates")[0] == 12.0
    assert requests(records, "bot.v1", "sendMessage") or requests(records, "bot.v2", "sendMessage")
    assert not [r for r in records if r["kind"] in ("uncaught", "finding")]


def test_sigterm_runs_ptbs_own_shutdown_and_exits_0() -> None:
    _, records = run(("bot.v1", script("ptb_sync.py"), {}), updates=5.0,
                       actions=[(20.0, lambda s: s.signal(s.instances[0], signal.SIGTERM))])  # fmt: skip
    assert exits(records) == {"bot.v1": (20.0, 0)}
    polls = requests(records, "bot.v1", "getUpdates")
    assert polls[-1] == 20.0  # Updater.stop's confirming getUpdates, sent by PTB after the signal


def test_asyncio_run_then_time_sleep() -> None:
    _, records = run(("p", script("asyncio_run.py"), {}))
    assert lines(records, "p") == [(3.0, "slept 3.0"), (4.0, "done")]
    assert exits(records) == {"p": (4.0, 0)}


def test_asyncio_runner_runs_twice_on_the_same_loop() -> None:
    _, records = run(("p", script("runner.py"), {}), ("q", script("runner.py"), {}))
    for name in ("p", "q"):
        assert lines(records, name) == [(1.0, "first 1"), (3.0, "second 2"), (3.0, "closed ok")]


def test_new_event_loop_run_until_complete_close_and_unset_are_the_process_own() -> None:
    _, records = run(("p", script("new_loop.py"), {}), ("q", script("new_loop.py"), {}))
    expected = [(5.0, "result five"), (5.0, "closed True"), (5.0, "no current loop"), (6.0, "reopened False one")]
    assert lines(records, "p") == expected
    assert lines(records, "q") == expected  # p closing "its" loop closed nobody else's


@pytest.mark.parametrize(
    ("how", "code", "atexit_ran"),
    [("return", 0, True), ("sys.exit", 3, True), ("os._exit", 4, False), ("message", 1, True), ("raise", 1, True)],
)
def test_exit_codes_and_atexit(how: str, code: int, atexit_ran: bool) -> None:
    _, records = run(("p", script("exits.py"), {"HOW": how}))
    assert exits(records) == {"p": (1.0, code)}
    assert ("atexit ran" in [line for _, line in lines(records, "p")]) is atexit_ran
    if how == "message":
        assert (1.0, "bad config") in lines(records, "p")
    if how == "raise":
        [crash] = [r for r in records if r["kind"] == "uncaught"]
        assert crash["type"] == "LookupError" and crash["where"] == "exits.py:16 in <module>"


def test_an_exception_at_import_is_an_uncaught_crash_naming_the_scripts_line() -> None:
    _, records = run(("p", script("crash_at_import.py"), {}))
    [crash] = [r for r in records if r["kind"] == "uncaught"]
    assert crash["type"] == "KeyError" and crash["where"] == "crash_at_import.py:3 in <module>"
    assert exits(records) == {"p": (0.0, 1)}
    assert any(line.startswith("Traceback") for _, line in lines(records, "p"))  # its stderr, captured


def test_python_level_signal_handler_runs_in_the_blocked_main_code() -> None:
    _, records = run(("p", script("handler.py"), {}), actions=[(7.5, lambda s: s.signal(s.instances[0], signal.SIGTERM))])
    assert lines(records, "p") == [(7.5, "got SIGTERM"), (7.5, "finally ran")]
    assert exits(records) == {"p": (7.5, 5)}


def test_sigkill_of_a_blocked_process_runs_nothing_of_it_again() -> None:
    _, records = run(("p", script("handler.py"), {}), actions=[(3.0, lambda s: s.signal(s.instances[0], signal.SIGKILL))])
    assert lines(records, "p") == []  # its finally runs at teardown, after the trace: never in it
    assert exits(records) == {"p": (3.0, 137)}


def test_module_globals_environment_and_argv_are_per_process() -> None:
    real = dict(os.environ)
    _, records = run(("v1", script("counter.py", "--one"), {"ROLE": "first"}), ("v2", script("counter.py"), {}))
    assert lines(records, "v1") == [(1.0, "count 1 shared set by first argv ['--one'] pid 1000")]
    assert lines(records, "v2") == [(1.0, "count 1 shared None argv [] pid 1001")]
    assert dict(os.environ) == real and "counter_mod" not in sys.modules


def test_main_and_module_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROGRAMS)
    _, records = run(("a", program.main("counter:main"), {}), ("b", program.module("counter"), {}))
    assert lines(records, "a") == [(1.0, "count 1 shared None argv [] pid 1000"), (2.0, "main count 11")]
    assert lines(records, "b") == [(1.0, "count 1 shared None argv [] pid 1001")]


def test_bad_targets_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        program.script(str(tmp_path / "missing.py"))
    (tmp_path / "broken.py").write_text("def f(:\n")
    with pytest.raises(ValueError, match="line 1"):
        program.script(str(tmp_path / "broken.py"))
    with pytest.raises(ValueError, match="no module named"):
        program.module("no_such_module_anywhere")
    with pytest.raises(ValueError, match=r"expected .package\.module:function."):
        program.main("nocolon")


def test_getpid_and_kill_probe_by_simulated_liveness() -> None:
    def late(s: Simulation) -> None:
        s.spawn("c", script("pids.py"), env={"OTHER_PID": "1000", "KILL": "1"}, host="a")

    sim = Simulation(seed=0, horizon=20)
    sim.spawn("a", script("pids.py"), env={"OTHER_PID": "1001"}, host="a")
    sim.spawn("b", script("pids.py"), env={"OTHER_PID": "1000"}, host="b")
    sim.at(0.5, lambda: late(sim))
    records = list(sim.run())
    assert lines(records, "a") == [(1.0, "1001 no such process"), (1.0, "99999 no such process")]  # b: another host
    assert lines(records, "b") == [(1.0, "1000 no such process"), (1.0, "99999 no such process")]
    assert lines(records, "c")[0] == (1.5, "1000 alive")  # same host
    assert exits(records)["a"] == (1.5, 143)  # c's os.kill(1000, SIGTERM) reached it


def test_executor_calls_run_in_a_greenlet_of_the_process_on_the_virtual_clock() -> None:
    _, records = run(("p", script("to_thread.py"), {}))
    assert lines(records, "p") == [(2.0, "to_thread 4"), (5.0, "executor 6")]
    assert not [r for r in records if r["kind"] == "finding"]


@pytest.mark.parametrize("bot", ["aiogram_sync.py", "aiogram_async.py", "aiogram_own_session.py"])
def test_aiogram_module_level_dispatcher_in_two_processes(bot: str) -> None:
    _, records = run(("v1", script(bot), {}), ("v2", script(bot), {}), updates=5.0, horizon=30.0)
    assert not [r for r in records if r["kind"] in ("uncaught", "exit", "finding")], records
    assert requests(records, "v1", "getUpdates") and requests(records, "v2", "getUpdates")
    replies = requests(records, "v1", "sendMessage") + requests(records, "v2", "sendMessage")
    assert len(replies) == 5  # each update answered once, through the sync F.text filter


def test_stdout_never_reaches_the_harness(capsys: pytest.CaptureFixture[str]) -> None:
    run(("p", script("asyncio_run.py"), {}), ("q", script("exits.py"), {"HOW": "raise"}))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_sync_spin_is_stopped_by_the_watchdog() -> None:
    sim, records = run(("p", script("spin.py"), {}), watchdog=0.3)
    assert sim.ended_by == "watchdog"
    [stopped] = [r for r in records if r["kind"] == "watchdog"]
    assert stopped["instance"] == "p" and stopped["where"].startswith("spin.py:")


def test_same_digest_twice_and_from_two_checkout_directories(tmp_path: Path) -> None:
    digests = []
    for where in ("one", "two", "two"):
        directory = tmp_path / where
        if not directory.exists():
            shutil.copytree(PROGRAMS, directory)
        sim = Simulation(seed=3, horizon=30)
        for name in ("v1", "v2"):
            sim.spawn(name, program.script(str(directory / "ptb_sync.py")), env={"BOT_TOKEN": sim.token})
        sim.at(4.0, lambda sim=sim: sim.push(message_update("hi", date=int(sim.epoch + sim.now()))))
        sim.at(20.0, lambda sim=sim: sim.signal(sim.instances[0], signal.SIGTERM))
        digests.append(sim.run().digest())
    assert digests[0] == digests[1] == digests[2]


def test_asyncio_run_ending_in_one_process_cancels_none_of_anothers_tasks() -> None:
    _, records = run(("p", script("short_run.py"), {"T": "1"}), ("q", script("short_run.py"), {"T": "3"}))
    assert lines(records, "p") == [(1.0, "done")]
    assert lines(records, "q") == [(3.0, "done")]
    assert exits(records) == {"p": (1.0, 0), "q": (3.0, 0)}


def test_a_paused_process_wakes_late() -> None:
    _, records = run(("p", script("asyncio_run.py"), {}), actions=[(1.0, lambda s: s.pause(s.instances[0], 5.0))])
    assert lines(records, "p") == [(6.0, "slept 6.0"), (7.0, "done")]


def test_a_process_keeps_its_first_150_and_last_50_lines_of_output_and_counts_the_rest() -> None:
    _, records = run(("p", script("chatty.py"), {}))
    kept = lines(records, "p")
    assert len(kept) == 200
    assert kept[0] == (0.0, "line 0") and kept[149] == (0.0, "line 149")  # the head: 150 prints
    assert kept[150:152] == [(0.0, "block 72"), (0.0, "block 73")]  # the tail: the last 50 lines
    assert kept[-2:] == [(0.0, "x" * 999 + "…"), (0.0, "no newline at the end")]
    [dropped] = [r for r in records if r["kind"] == "output_dropped"]
    assert dropped["lines"] == 120 + 1 + 1 - 50  # the block, the long line, the unfinished one; 50 kept


def test_one_write_of_many_lines_is_one_event_and_a_long_line_is_cut() -> None:
    _, records = run(("p", script("chatty.py"), {"LONG_FIRST": "1"}), horizon=5)
    events = [r for r in records if r["kind"] == "output" and r["instance"] == "p"]
    assert events[0]["text"] == "y" * 999 + "…"
    assert len(events) == 150 + 50  # the head: the long line and 149 prints; then the tail, a line each
    assert events[149]["text"] == "line 148" and events[150]["text"] == "block 72"


def test_logging_disable_is_the_calling_process_s_own() -> None:
    """``logging.disable`` sets the logging manager's level: shared, unless each process has its own."""
    before = logging.root.manager.disable
    _, records = run(("quiet", script("logs.py"), {"QUIET": "1"}), ("loud", script("logs.py"), {}), horizon=5)
    assert lines(records, "quiet") == []
    assert lines(records, "loud") == [(1.0, "WARNING:root:still here")]
    assert logging.root.manager.disable == before  # the harness's logging is as it was


def test_a_traceback_logged_again_is_formatted_once_and_prints_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bot losing the poll logs one Conflict traceback per 409: formatting it once per run is
    what keeps a script within 1.3x of the contract (bench ``program``); the text must not change."""
    import traceback

    formatted = []
    real = traceback.print_exception
    monkeypatch.setattr(traceback, "print_exception", lambda *a, **k: formatted.append(a[1]) or real(*a, **k))
    _, records = run(("p", script("tracebacks.py"), {}), horizon=5)
    printed = "\n".join(line for _, line in lines(records, "p"))
    assert printed.count("ERROR:root:poll failed\nTraceback (most recent call last):") == 3
    assert printed.count("line 12, in <module>\n    fail(i)\n") == 3 and printed.count("RuntimeError: Conflict 0") == 3
    assert "KeyError: 'missing'" in printed
    assert [type(e) for e in formatted] == [RuntimeError, KeyError]


@pytest.mark.parametrize("how", ["install", "run"])
def test_uvloop_runs_the_process_on_the_virtual_loop(how: str) -> None:
    """uvloop's C loop would read the real clock and open real sockets; the process runs on asyncio's."""
    uvloop = pytest.importorskip("uvloop")
    policy, run_, new = asyncio.get_event_loop_policy(), uvloop.run, uvloop.new_event_loop
    _, records = run(("p", script("uvloop_bot.py", how), {}), horizon=30)
    assert [line for _, line in lines(records, "p")] == ["start 0.0", "woke 5.0"]
    assert exits(records) == {"p": (5.0, 0)}
    assert (asyncio.get_event_loop_policy(), uvloop.run, uvloop.new_event_loop) == (policy, run_, new)


def test_uvloop_is_patched_once_and_given_back_as_it_was() -> None:
    """The import hook runs for every process that imports uvloop, and the run's start patches it when it is
    already imported: a second patch must not wrap the first, or the end of the run gives back a wrapper."""
    from simbot.sim import oslayer

    uvloop = pytest.importorskip("uvloop")
    real = (uvloop.run, uvloop.new_event_loop)
    oslayer.uvloop_patched()
    oslayer.uvloop_patched()
    try:
        assert (uvloop.run, uvloop.new_event_loop) != real
    finally:
        oslayer.uvloop_restored()
    assert (uvloop.run, uvloop.new_event_loop) == real


@pytest.mark.parametrize("config", ["QUIET", "DICTCONFIG"])
def test_a_named_logger_s_level_handlers_and_disabled_are_the_calling_process_s_own(config: str) -> None:
    """``getLogger("httpx")`` is one object in the interpreter: a process that quiets it, or a
    dictConfig that disables it, must not quiet it for the others or for the next run."""
    lib = logging.getLogger("simbot_test.lib")
    before = (lib.level, lib.disabled, list(lib.handlers), lib.propagate)
    for _ in range(2):  # the second run starts as the first did
        _, records = run(("quiet", script("named_loggers.py"), {config: "1"}),
                         ("loud", script("named_loggers.py"), {}), horizon=5)  # fmt: skip
        assert [line for _, line in lines(records, "loud")] == [
            "simbot_test.lib INFO from the library", "from its own logger", "simbot_test.own WARNING from its own logger"]
        quiet = [line for _, line in lines(records, "quiet")]
        assert "simbot_test.lib INFO from the library" not in quiet
        assert quiet.count("from its own logger") == 1  # its handler only, not the other process's too
    assert (lib.level, lib.disabled, list(lib.handlers), lib.propagate) == before
    assert logging.getLogger("simbot_test.own").handlers == []  # created by a process: new for the harness


def test_a_librarys_import_time_logger_set_up_is_the_same_for_every_process_and_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed package is imported once and shared: the set-up its module body does (a NullHandler,
    a level, propagate) holds for every process, whichever imported it first, and for later runs."""
    monkeypatch.syspath_prepend(str(Path(__file__).parent / "libs"))
    monkeypatch.delitem(sys.modules, "logging_lib", raising=False)
    for _ in range(2):
        _, records = run(("a", script("imports_lib.py"), {}), ("b", script("imports_lib.py"), {}), horizon=5)
        assert [line for _, line in lines(records, "a")] == ["['NullHandler'] 20 False"]
        assert [line for _, line in lines(records, "b")] == ["['NullHandler'] 20 False"]
    installed = logging.getLogger("simbot_test.installed")
    assert [type(h).__name__ for h in installed.handlers] == ["NullHandler"] and not installed.propagate


@pytest.mark.parametrize("harness", ["error", "always", "ignore"])
def test_a_warning_is_printed_on_the_processs_stderr_as_a_fresh_interpreter_would_whatever_the_harness(harness: str) -> None:
    """pytest records warnings, ``-W error`` raises them: a simulated process must see Python's defaults
    (shown once per location, on its own stderr), or its trace depends on who runs it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter(harness)
        for _ in range(2):  # and the next run shows it again: "once" starts anew with each run
            _, records = run(("p", script("warns.py"), {}), horizon=5)
            printed = [line for _, line in lines(records, "p")]
            assert printed == ["warns.py:6: RuntimeWarning: careful",
                               '  warnings.warn("careful", RuntimeWarning, stacklevel=1)']  # fmt: skip
