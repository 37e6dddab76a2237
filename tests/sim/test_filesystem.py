"""A filesystem per host: bots' files and locks are seen on their own host only, never on the real disk."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from simbot.sim import filesystem, locks
from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation
from simbot.sim.trace import Trace

Body = Callable[[], Any]
held: list[Any] = []  # open files the bots keep for their lives (a dropped file object closes, and unlocks)


@pytest.fixture(autouse=True)
def _forget_held_files() -> Any:
    yield
    for f in held:
        if not isinstance(f, int):
            f.close()
    held.clear()


def run(*bots: tuple[str, str, float, Body], horizon: float = 30.0, kill: tuple[str, float] | None = None,
        seed: int = 0) -> tuple[dict[str, Any], Trace, Simulation]:  # fmt: skip
    """Start each ``(name, host, at, body)``; ``body`` runs inside the instance, its result kept by name."""
    sim = Simulation(seed=seed, horizon=horizon)
    seen: dict[str, Any] = {}

    def entry(name: str, body: Body) -> Callable[[InstanceContext], Awaitable[None]]:
        async def bot(info: InstanceContext) -> None:
            try:
                seen[name] = body()
            except OSError as exc:
                seen[name] = exc
            await asyncio.sleep(3600)  # stays alive: its files stay open, its locks held

        return bot

    for name, host, at, body in bots:
        sim.at(at, lambda name=name, host=host, body=body: sim.spawn(name, entry(name, body), host=host))
    if kill is not None:
        victim, when = kill
        sim.at(when, lambda: next(i for i in sim.instances if i.name == victim).kill())
    trace = sim.run()
    return seen, trace, sim


def take_lock(path: str = "/tmp/bot.lock") -> Body:
    def body() -> str:
        f = open(path, "w")  # noqa: SIM115  (held for the process's life, as bots do)
        held.append(f)
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write(str(os.getpid()))
        f.flush()
        return "locked"

    return body


@pytest.fixture
def unique() -> str:
    return f"simbot-fs-test-{uuid.uuid4().hex[:12]}"


def test_a_lock_file_is_per_host(unique: str) -> None:
    lock = f"/tmp/{unique}.lock"
    seen, _, _ = run(("a", "vps", 0, take_lock(lock)), ("b", "vps", 1, take_lock(lock)),
                     ("c", "container", 2, take_lock(lock)))  # fmt: skip
    assert seen["a"] == "locked"
    assert isinstance(seen["b"], BlockingIOError) and seen["b"].errno == errno.EAGAIN  # same host: held
    assert seen["c"] == "locked"  # another container: its own /tmp
    assert not os.path.exists(lock)  # and the real /tmp never saw it


def test_a_sigkilled_holder_releases_its_lock(unique: str) -> None:
    lock = f"/tmp/{unique}.lock"
    seen, _, _ = run(("a", "vps", 0, take_lock(lock)), ("b", "vps", 1, take_lock(lock)),
                     ("c", "vps", 6, take_lock(lock)), kill=("a", 5))  # fmt: skip
    assert isinstance(seen["b"], BlockingIOError)
    assert seen["c"] == "locked"


def test_closing_the_file_releases_a_flock_and_a_dup_shares_it(unique: str) -> None:
    lock = f"/tmp/{unique}.lock"

    def take_and_close() -> str:
        with open(lock, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            copy = os.dup(f.fileno())
        fcntl.flock(copy, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the same open file description: held by us
        os.close(copy)
        return "closed"

    seen, _, _ = run(("a", "vps", 0, take_and_close), ("b", "vps", 1, take_lock(lock)))
    assert seen == {"a": "closed", "b": "locked"}


def test_shared_flocks_coexist_and_exclude_an_exclusive_one(unique: str) -> None:
    lock = f"/tmp/{unique}.lock"

    def shared() -> str:
        f = open(lock, "a")  # noqa: SIM115
        held.append(f)
        fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return "shared"

    seen, _, _ = run(("a", "h", 0, shared), ("b", "h", 1, shared), ("c", "h", 2, take_lock(lock)))
    assert seen["a"] == seen["b"] == "shared"
    assert isinstance(seen["c"], BlockingIOError)


def test_posix_locks_are_per_process_and_per_host(unique: str) -> None:
    path = f"/tmp/{unique}.db"

    def lockf() -> str:
        fd = os.open(path, os.O_RDWR | os.O_CREAT)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a process never conflicts with itself
        return "locked"

    def lockf_then_close() -> str:
        fd = os.open(path, os.O_RDWR | os.O_CREAT)
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        os.close(fd)
        return "closed"

    seen, _, _ = run(("a", "h", 0, lockf), ("b", "h", 1, lockf), ("c", "other", 2, lockf))
    assert seen["a"] == seen["c"] == "locked"
    assert isinstance(seen["b"], BlockingIOError) and seen["b"].errno == errno.EAGAIN
    seen, _, _ = run(("a", "h", 0, lockf_then_close), ("b", "h", 1, lockf))
    assert seen == {"a": "closed", "b": "locked"}


def test_fcntl_setlk_ranges_conflict_only_where_they_overlap(unique: str) -> None:
    path = f"/tmp/{unique}.db"

    def setlk(start: int) -> Body:
        def body() -> Any:
            fd = os.open(path, os.O_RDWR | os.O_CREAT)
            fcntl.fcntl(fd, fcntl.F_SETLK, _flock(fcntl.F_WRLCK, start, 10))
            return start

        return body

    seen, _, _ = run(("a", "h", 0, setlk(0)), ("b", "h", 1, setlk(10)), ("c", "h", 2, setlk(5)))
    assert seen["a"] == 0 and seen["b"] == 10
    assert isinstance(seen["c"], BlockingIOError)


def _flock(kind: int, start: int, length: int) -> bytes:
    import struct

    return struct.pack("hhqqi4x", kind, os.SEEK_SET, start, length, 0)


def test_a_blocking_wait_outside_a_process_greenlet_is_a_finding(unique: str) -> None:
    lock = f"/tmp/{unique}.lock"

    def wait_for_it() -> str:
        f = open(lock, "w")  # noqa: SIM115
        held.append(f)
        fcntl.flock(f, fcntl.LOCK_EX)  # async code cannot wait: it would freeze every process
        return "locked"

    seen, trace, _ = run(("a", "h", 0, take_lock(lock)), ("b", "h", 1, wait_for_it))
    assert isinstance(seen["b"], OSError) and seen["b"].errno == errno.EDEADLK
    [finding] = trace.of("finding")
    assert finding["instance"] == "b" and f"fcntl.flock({lock}, LOCK_EX)" in finding["what"]
    assert "test_filesystem.py" in finding["where"]


def test_a_blocking_wait_uses_the_cooperative_hook(unique: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a waiter (the process greenlet's ``block_on``), a conflicting request waits, then retries."""
    lock = f"/tmp/{unique}.lock"
    waits: list[asyncio.Future[Any]] = []

    def waiter(future: asyncio.Future[Any]) -> bool:
        waits.append(future)
        if len(waits) > 1:
            return False  # the second wait: give up, as outside a greenlet
        holder = next(iter(filesystem._active))[1].locks  # release the holder, as its death would
        for d in list(holder.fds.values()):
            if d.flock and d.owner.name == "a":
                holder._gone(d)
        return True

    monkeypatch.setattr(locks, "wait", waiter)

    def wait_for_it() -> str:
        f = open(lock, "w")  # noqa: SIM115
        held.append(f)
        fcntl.flock(f, fcntl.LOCK_EX)
        return "locked"

    seen, _, _ = run(("a", "h", 0, take_lock(lock)), ("b", "h", 1, wait_for_it))
    assert seen["b"] == "locked" and len(waits) == 1 and waits[0].done()


def test_o_excl_pid_file_holds_per_host(unique: str) -> None:
    pid = f"/tmp/{unique}.pid"

    def pid_file() -> str:
        fd = os.open(pid, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"1")
        os.close(fd)
        return "created"

    seen, _, _ = run(("a", "h", 0, pid_file), ("b", "h", 1, pid_file), ("c", "other", 2, pid_file))
    assert seen["a"] == seen["c"] == "created"
    assert isinstance(seen["b"], FileExistsError) and str(seen["b"]) == f"[Errno 17] File exists: '{pid}'"
    assert not os.path.exists(pid)


def test_o_excl_fails_on_a_real_file_read_through(tmp_path: Path) -> None:
    (tmp_path / "bot.pid").write_text("99")

    def pid_file() -> str:
        with open(tmp_path / "bot.pid", "x"):
            return "created"

    seen, _, _ = run(("a", "h", 0, pid_file))
    assert isinstance(seen["a"], FileExistsError)


def test_sqlite_file_per_host(unique: str) -> None:
    db = f"/tmp/{unique}.sqlite"

    def write() -> int:
        with sqlite3.connect(db) as conn:
            conn.execute("create table if not exists seen (id integer)")
            conn.execute("insert into seen values (1)")
        return 1

    def count() -> int:
        conn = sqlite3.connect(db)
        try:
            return int(conn.execute("select count(*) from seen").fetchone()[0])
        except sqlite3.OperationalError:
            return -1  # no such table: a fresh file
        finally:
            conn.close()

    seen, _, _ = run(("w", "h", 0, write), ("same", "h", 1, count), ("other", "o", 1, count))
    assert seen == {"w": 1, "same": 1, "other": -1}
    assert not os.path.exists(db)


def test_reads_go_through_to_real_files_and_writes_never_reach_them(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("original")

    def edit() -> str:
        before = Path(config).read_text()
        with open(config, "a") as f:
            f.write("+edited")
        return before + "|" + Path(config).read_text()

    def read() -> str:
        return config.read_text() if config.exists() else "gone"

    def delete() -> list[str]:
        os.remove(config)
        return [*os.listdir(tmp_path), str(os.path.exists(config))]

    seen, _, _ = run(("a", "h", 0, edit), ("same", "h", 1, read), ("other", "o", 1, read),
                     ("d", "h", 2, delete), ("after", "h", 3, read), ("far", "o", 3, read))  # fmt: skip
    assert seen["a"] == "original|original+edited"
    assert seen["same"] == "original+edited" and seen["other"] == "original"
    assert seen["d"] == ["False"] and seen["after"] == "gone" and seen["far"] == "original"
    assert config.read_text() == "original"


def test_directory_listings_merge_the_layer_and_the_real_files(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("r")

    def work() -> Any:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "a.json").write_text("{}")
        os.makedirs(tmp_path / "deep" / "er", exist_ok=True)
        os.rename(tmp_path / "real.txt", tmp_path / "data" / "moved.txt")
        names = sorted(p.name for p in tmp_path.iterdir())
        walked = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
        return names, walked, (tmp_path / "data" / "moved.txt").read_text()

    seen, _, _ = run(("a", "h", 0, work))
    names, walked, moved = seen["a"]
    assert names == ["data", "deep"]
    assert walked == ["data", "data/a.json", "data/moved.txt", "deep", "deep/er"]
    assert moved == "r"
    assert sorted(os.listdir(tmp_path)) == ["real.txt"]  # the real directory is as it was


def test_nothing_is_written_outside_the_scratch_space(unique: str, tmp_path: Path) -> None:
    made: list[str] = []

    def everything() -> str:
        fd, name = tempfile.mkstemp(prefix=unique)
        os.close(fd)
        made.append(name)
        with tempfile.NamedTemporaryFile(prefix=unique, delete=False) as f:
            made.append(f.name)
        made.append(tempfile.mkdtemp(prefix=unique))
        Path(f"/tmp/{unique}.state").write_text("x")
        os.makedirs(f"/tmp/{unique}/a/b")
        os.replace(f"/tmp/{unique}.state", f"/tmp/{unique}/a/b/state")
        Path(tmp_path / "local.txt").touch()
        os.utime(tmp_path / "local.txt")
        os.chmod(tmp_path / "local.txt", 0o600)
        return "done"

    before = sorted(os.listdir("/tmp"))
    seen, _, sim = run(("a", "h", 0, everything))
    assert seen["a"] == "done" and len(made) == 3
    for name in [*made, f"/tmp/{unique}", f"/tmp/{unique}.state", str(tmp_path / "local.txt")]:
        assert not os.path.exists(name), name
    assert not [n for n in os.listdir("/tmp") if n not in before and unique in n]
    assert sim.hosts_root is not None and not os.path.exists(sim.hosts_root)  # the scratch is gone too


def test_errors_name_the_bots_path_never_the_scratch_space(unique: str) -> None:
    def fail() -> None:
        Path(f"/tmp/{unique}/x").mkdir(parents=True)
        os.remove(f"/tmp/{unique}/x/missing")

    async def crash(info: InstanceContext) -> None:
        open(f"/tmp/{unique}/x", "w")  # noqa: SIM115  (a directory on this host only)

    seen, _, sim = run(("a", "h", 0, fail))
    assert str(seen["a"]) == f"[Errno 2] No such file or directory: '/tmp/{unique}/x/missing'"
    sim = Simulation(horizon=5)
    sim.at(0, lambda: sim.spawn("b", _make_dir_then(unique, crash), host="h"))
    trace = sim.run()
    [uncaught] = trace.of("uncaught")
    assert uncaught["message"] == f"[Errno 21] Is a directory: '/tmp/{unique}/x'"
    assert sim.hosts_root is not None and sim.hosts_root not in trace.jsonl()


def _make_dir_then(unique: str, then: Callable[[InstanceContext], Awaitable[None]]) -> Any:
    async def bot(info: InstanceContext) -> None:
        os.makedirs(f"/tmp/{unique}/x")
        await then(info)

    return bot


def test_each_process_has_its_own_working_directory(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()

    def chdir() -> str:
        os.chdir(tmp_path / "sub")
        Path("here.txt").write_text("x")
        return os.getcwd()

    def stay() -> tuple[str, bool]:
        return os.getcwd(), os.path.exists("here.txt")

    def preset() -> str:
        return Path("state.json").read_text()

    (tmp_path / "state.json").write_text("project")
    sim = Simulation(horizon=5)
    seen: dict[str, Any] = {}

    def spawn(name: str, body: Body, host: str) -> None:
        async def bot(info: InstanceContext) -> None:
            seen[name] = body()

        instance = sim.spawn(name, bot, host=host)
        if name == "p":
            filesystem.set_cwd(instance, str(tmp_path))

    sim.at(0, lambda: spawn("a", chdir, "h"))
    sim.at(1, lambda: spawn("b", stay, "h"))
    sim.at(0, lambda: spawn("p", preset, "h"))
    sim.run()
    assert seen["a"] == str(tmp_path / "sub")
    assert seen["b"] == (os.getcwd(), False)
    assert seen["p"] == "project"
    assert not (tmp_path / "sub" / "here.txt").exists()


def test_the_harness_and_its_policies_keep_the_real_functions() -> None:
    real_open = open
    sim = Simulation(horizon=1)

    async def bot(info: InstanceContext) -> None:
        lock = info.root / "bot.lock"  # the harness's own path for this host: used as it is
        fd = os.open(lock, os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        seen.append(lock.exists() and str(lock).startswith(str(sim.hosts_root)))

    seen: list[bool] = []
    sim.at(0, lambda: sim.spawn("a", bot))
    sim.run()
    assert seen == [True]
    assert open is real_open and os.open is filesystem.real["open"] and fcntl.flock is filesystem._real_fcntl["flock"]


def test_two_runs_give_identical_traces(unique: str) -> None:
    def busy() -> Any:
        name = tempfile.mkstemp(prefix="bot")[1]
        Path(name).write_text("x")
        os.remove(f"/tmp/{unique}-missing")

    first = run(("a", "h", 0, busy), ("b", "h", 1, take_lock(f"/tmp/{unique}.lock")), seed=3)
    second = run(("a", "h", 0, busy), ("b", "h", 1, take_lock(f"/tmp/{unique}.lock")), seed=3)
    assert first[1].digest() == second[1].digest()
    assert str(first[0]["a"]) == str(second[0]["a"])


def test_a_bot_asking_for_its_root_first_does_not_recurse_into_the_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """tempfile's directory is looked up again (not cached), as in a fresh ``simbot replay`` process."""
    monkeypatch.setattr(tempfile, "tempdir", None)
    sim = Simulation(horizon=1, watchdog=5)
    roots: list[str] = []

    async def bot(info: InstanceContext) -> None:
        roots.append(str(info.root))

    sim.at(0, lambda: sim.spawn("a", bot))
    trace = sim.run()
    assert trace.meta["ended_by"] == "quiet" and len(roots) == 1
