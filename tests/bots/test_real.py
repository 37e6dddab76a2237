"""The corpus bots are real, working bots: each runs as a real process against ``fake-telegram serve``.

This is the ground truth the simulation of the corpus must agree with (``simbot check bot.py``):
each bot, copied to a scratch directory and started as ``python bot.py`` with its environment
(the only change: ``TELEGRAM_API_URL``, which every bot reads on one marked line, points it at the
local fake), long-polls, answers a pushed message with sendMessage, and exits on SIGTERM. The
broken-on-purpose guards behave as their docstrings say: ``raises_at_import`` exits 1 with a
KeyError, ``never_polls`` initialises and stays up without one getUpdates, ``hangs_in_sync_code``
stays up without sending any request. The host-local locks act too: a second copy of
``ptb_incident`` (same lock file) or of ``ptb_pidfile`` (same directory) refuses to start.

Every bot has its own token, so all of them run at once against one server (a few real seconds).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_telegram import message_update
from tests.clients.support import Server, serve_fake, server_log

HERE = Path(__file__).parent
SECRET = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
PID_FILE_TOKEN = f"300003:CCH{SECRET[3:]}"  # what ptb_pidfile/.env holds: the bot reads it itself
WITHIN = 30.0  # real seconds any one expected thing may take on a loaded 2-core CI machine
QUIET = 1.5  # real seconds a guard must stay up without polling / without any request


def token(n: int) -> str:
    return f"30000{n}:{SECRET}" if n < 10 else f"3000{n}:{SECRET}"


@dataclass
class Spec:
    """One corpus bot as the test starts it."""

    env: dict[str, str]
    token: str | None  # the token whose log shows the bot's requests (None: it never gets one)
    kind: str = "echo"  # echo | raises | never_polls | hangs


SPECS: dict[str, Spec] = {
    "ptb_incident": Spec({"BOT_TOKEN": token(1), "STARTUP_DELAY": "0.2"}, token(1)),
    "ptb_echo": Spec({"TELEGRAM_BOT_TOKEN": token(2)}, token(2)),
    "ptb_pidfile": Spec({}, PID_FILE_TOKEN),
    "ptb_module_app": Spec({"BOT_TOKEN": token(4)}, token(4)),
    "aiogram_echo": Spec({"BOT_TOKEN": token(5)}, token(5)),
    "aiogram_router": Spec({"BOT_TOKEN": token(6)}, token(6)),
    "aiogram_webhook_cleanup": Spec({"BOT_TOKEN": token(7)}, token(7)),
    "raises_at_import": Spec({"BOT_TOKEN": token(8)}, None, "raises"),
    "never_polls": Spec({"BOT_TOKEN": token(9)}, token(9), "never_polls"),
    "hangs_in_sync_code": Spec({"BOT_TOKEN": token(10)}, token(10), "hangs"),
}
MESSAGE = "hello corpus"
REPLIES = {  # the text each echo bot sends back for MESSAGE
    "ptb_incident": MESSAGE,
    "ptb_echo": MESSAGE,
    "ptb_pidfile": f"You said: {MESSAGE}",
    "ptb_module_app": MESSAGE.upper(),
    "aiogram_echo": MESSAGE,
    "aiogram_router": MESSAGE,
    "aiogram_webhook_cleanup": f"Got it: {MESSAGE}",
}


@dataclass
class Run:
    """What one bot did: its requests (method, status), its exit status, its output."""

    name: str
    directory: Path
    proc: subprocess.Popen[bytes]
    output: Path
    log: list[dict[str, Any]] = field(default_factory=list)
    returncode: int | None = None
    alive_when_stopped: bool = False
    second_copy: tuple[int, str] | None = None  # a second copy's exit status and output
    pid_file_while_up: str | None = None
    failure: str | None = None  # what went wrong while driving it (a timeout names what it waited for)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def methods(self) -> list[str]:
        return [e["method"] for e in self.log]

    def replies(self) -> list[str]:
        return [e["params"].get("text", "") for e in self.log if e["method"] == "sendMessage" and e["status"] == 200]


def _env(spec: Spec, server: Server, extra: dict[str, str]) -> dict[str, str]:
    """A clean environment: nothing of the harness's leaks in (no stray BOT_TOKEN)."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
    env["TELEGRAM_API_URL"] = server.base
    return env | spec.env | extra


def _start(directory: Path, env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "bot.py"], cwd=directory, env=env, stdout=sink, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip


async def _until(check: Any, what: str, run: Run, within: float = WITHIN) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{run.name}: timed out after {within} s waiting for {what}\n{run.text()}")
        await asyncio.sleep(0.05)


async def _exercise(run: Run, spec: Spec, server: Server, client: httpx.AsyncClient, scratch: Path) -> None:
    """Drive one bot through its real-world behaviour, recording what it did."""

    async def refresh() -> list[dict[str, Any]]:
        run.log = await server_log(client, spec.token) if spec.token else []
        return run.log

    async def polling() -> bool:
        return any(e["method"] == "getUpdates" and e["status"] is None for e in await refresh())

    if spec.kind == "raises":
        await _until(lambda: _exited(run), "the bot to exit", run)
        return
    if spec.kind in ("never_polls", "hangs"):
        if spec.kind == "never_polls":
            await _until(lambda: _has(refresh, "getMe"), "getMe", run)
        else:
            await _until(lambda: _logged(run, "waiting for migrations.done"), "its first log line", run)
        await asyncio.sleep(QUIET)
        await refresh()
        run.alive_when_stopped = run.proc.poll() is None
        return
    await _until(polling, "a waiting getUpdates", run)
    response = await client.post(f"/_fake/bot{spec.token}/updates", json=[message_update(MESSAGE, date=int(time.time()))])
    assert response.json()["ok"], response.text
    await _until(lambda: _has(refresh, "sendMessage"), "the reply (sendMessage)", run)
    if run.name == "ptb_incident":  # a second copy on this host: the flock is taken, it exits 0 at once
        run.second_copy = await _second_copy(run, _env(spec, server, {"LOCK_FILE": str(scratch / "telegram_bot.lock")}))
    if run.name == "ptb_pidfile":  # a second copy in this directory: bot.pid names a live process
        run.pid_file_while_up = (run.directory / "bot.pid").read_text()
        run.second_copy = await _second_copy(run, _env(spec, server, {}))
    await refresh()
    run.alive_when_stopped = run.proc.poll() is None


async def _has(refresh: Any, method: str) -> bool:
    return any(e["method"] == method and e["status"] == 200 for e in await refresh())


async def _exited(run: Run) -> bool:
    return run.proc.poll() is not None


async def _logged(run: Run, line: str) -> bool:
    return line in run.text()


async def _second_copy(run: Run, env: dict[str, str]) -> tuple[int, str]:
    output = run.output.with_name(run.output.stem + "-second.log")
    proc = _start(run.directory, env, output)
    deadline = time.monotonic() + WITHIN
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{run.name}: the second copy did not exit\n{output.read_text()}")
        await asyncio.sleep(0.05)
    return proc.returncode, output.read_text(errors="replace")


def _stop(runs: list[Run]) -> None:
    """SIGTERM to all, as a platform stops a container; SIGKILL only for one that outlives WITHIN."""
    for run in runs:
        if run.proc.poll() is None:
            run.proc.send_signal(signal.SIGTERM)
    for run in runs:
        _reap(run)


def _reap(run: Run) -> None:
    try:
        run.returncode = run.proc.wait(WITHIN)
    except subprocess.TimeoutExpired:
        run.proc.kill()
        run.returncode = run.proc.wait()


# The hanging bot spins a core for as long as it runs: it goes alone, after the others.
WAVES = ([n for n, s in SPECS.items() if s.kind != "hangs"], [n for n, s in SPECS.items() if s.kind == "hangs"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """Every corpus bot against one real server: started at once (in two waves), exercised, stopped."""
    scratch = tmp_path_factory.mktemp("corpus")
    started: dict[str, Run] = {}
    with serve_fake(scratch) as server:
        for wave in WAVES:
            _run_wave(wave, scratch, server, started)
    yield started


def _run_wave(names: list[str], scratch: Path, server: Server, started: dict[str, Run]) -> None:
    wave: list[Run] = []
    try:
        for name in names:
            directory = scratch / name
            shutil.copytree(HERE / name, directory)
            output = scratch / f"{name}.log"
            extra = {"LOCK_FILE": str(scratch / "telegram_bot.lock")} if name == "ptb_incident" else {}
            wave.append(Run(name, directory, _start(directory, _env(SPECS[name], server, extra), output), output))
            started[name] = wave[-1]

        async def main() -> list[BaseException | None]:
            async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
                return await asyncio.gather(
                    *(_exercise(run, SPECS[run.name], server, client, scratch) for run in wave),
                    return_exceptions=True,
                )

        for run, failure in zip(wave, asyncio.run(main()), strict=True):
            if failure is not None:
                run.failure = f"{type(failure).__name__}: {failure}"
    finally:
        _stop(wave)


def _driven(runs: dict[str, Run], name: str) -> Run:
    """The bot's run, failing the test with what went wrong if it could not be driven."""
    run = runs[name]
    assert run.failure is None, run.failure
    return run


ECHO_BOTS = [n for n, s in SPECS.items() if s.kind == "echo"]


@pytest.mark.parametrize("name", ECHO_BOTS)
def test_bot_polls_replies_and_exits_cleanly_on_sigterm(runs: dict[str, Run], name: str) -> None:
    run = _driven(runs, name)
    methods = run.methods()
    assert "getUpdates" in methods, (methods, run.text())
    assert run.replies() == [REPLIES[name]], (run.replies(), run.text())
    assert run.alive_when_stopped, run.text()
    assert run.returncode == 0, (run.returncode, run.text())


def test_the_incident_bot_probes_before_polling_and_its_lock_stops_a_second_copy(runs: dict[str, Run]) -> None:
    run = _driven(runs, "ptb_incident")
    methods = run.methods()
    probe = methods.index("getWebhookInfo")
    assert methods[probe + 1] == "getUpdates", methods  # the probe: getUpdates(limit=1, timeout=0)
    assert run.log[probe + 1]["params"] == {"limit": "1", "timeout": "0"}, run.log[probe + 1]
    assert run.second_copy is not None
    status, output = run.second_copy
    assert status == 0, output  # "exit gracefully"
    assert "Another instance is already running" in output, output
    assert methods.count("getMe") == 1, methods  # the second copy never reached Telegram


def test_the_pidfile_bot_refuses_a_second_copy_and_removes_its_pid_file(runs: dict[str, Run]) -> None:
    run = _driven(runs, "ptb_pidfile")
    assert run.pid_file_while_up == str(run.proc.pid)
    assert run.second_copy is not None
    status, output = run.second_copy
    assert status == 1, output
    assert f"already running with pid {run.proc.pid}" in output, output
    assert not (run.directory / "bot.pid").exists()  # atexit removed it on SIGTERM


def test_the_module_app_drops_pending_updates_at_start(runs: dict[str, Run]) -> None:
    run = _driven(runs, "ptb_module_app")
    delete = next(e for e in run.log if e["method"] == "deleteWebhook")
    assert delete["params"].get("drop_pending_updates") == "true", delete


def test_the_webhook_cleanup_bot_deletes_the_webhook_before_polling(runs: dict[str, Run]) -> None:
    methods = _driven(runs, "aiogram_webhook_cleanup").methods()
    assert methods.index("deleteWebhook") < methods.index("getUpdates"), methods


def test_a_bot_that_raises_at_import_exits_1_before_any_request(runs: dict[str, Run]) -> None:
    run = _driven(runs, "raises_at_import")
    assert run.returncode == 1, run.text()
    assert "KeyError: 'ADMIN_CHAT_ID'" in run.text(), run.text()


def test_a_bot_that_never_polls_stays_up_without_a_single_getupdates(runs: dict[str, Run]) -> None:
    run = _driven(runs, "never_polls")
    assert run.methods() == ["getMe"], (run.methods(), run.text())
    assert run.alive_when_stopped, run.text()


def test_a_bot_that_hangs_in_sync_code_stays_up_without_any_request(runs: dict[str, Run]) -> None:
    run = _driven(runs, "hangs_in_sync_code")
    assert run.methods() == [], run.methods()
    assert run.alive_when_stopped, run.text()
    assert run.returncode == -signal.SIGTERM  # no handler installed yet: SIGTERM's default action
