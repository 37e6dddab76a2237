"""Where explore's chunks run: worker processes on this machine, or a Dask cluster.

A chunk is a pure function of its arguments (search.run_chunk), so the seam only hands out
calls and hands back ``concurrent.futures`` futures; the answer cannot depend on where a
chunk ran. On Dask a task runs in a worker *thread*, where the watchdog's SIGALRM cannot
reach it and the sandbox would share the worker's process: each worker therefore runs its
chunks in its own child Python process (not multiprocessing: Dask's workers are daemonic
and may not have multiprocessing children), whose main thread arms the watchdog as a
plain ``simbot explore`` does. A worker checks each chunk's fingerprint (fingerprint.py)
before running it: a worker with other code would give other answers.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any

from .fingerprint import checked, fingerprint

CONNECT_TIMEOUT = 10.0  # real seconds to reach a scheduler and see a worker before giving up


class ChunkLost(RuntimeError):
    """A process running a chunk ended without an answer (the watchdog's hard stop, say)."""


def parse(cluster: str) -> tuple[str, Any]:
    """``local:N`` or a scheduler address ``scheme://host:port``; a ValueError names the option."""
    if cluster.startswith("local:"):
        n = cluster.removeprefix("local:")
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"cluster: expected local:N with N >= 1 worker processes, got {cluster!r}")
        return "local", int(n)
    if "://" not in cluster or not cluster.split("://", 1)[1]:
        raise ValueError(f"cluster: expected local:N or a scheduler address such as tcp://host:8786, got {cluster!r}")
    return "address", cluster


def check(cluster: str | None) -> None:
    """Bad ``--cluster`` values and a missing ``distributed`` fail here, before anything starts."""
    if cluster is None:
        return
    parse(cluster)
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ValueError("cluster: needs Dask distributed, which is not installed: pip install 'simbot[cluster]'") from None


class _Pool:
    def __init__(self, submit: Callable[..., Any], width: int):
        self._submit, self.width = submit, width

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        return self._submit(fn, *args)


@contextmanager
def pool(jobs: int, cluster: str | None) -> Iterator[_Pool]:
    """``jobs`` local processes, or the cluster's worker threads (then ``jobs`` is not used)."""
    if cluster is None:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as local:
            yield _Pool(local.submit, jobs)
        return
    with _dask(cluster) as dask_pool:
        yield dask_pool


@contextmanager
def _dask(cluster: str) -> Iterator[_Pool]:
    import logging

    from distributed import Client, LocalCluster

    kind, value = parse(cluster)
    local = None
    if kind == "local":
        import dask

        # the workers' statistical profiler samples every thread every 10 ms: CPU the chunks' children need
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            local = LocalCluster(n_workers=value, threads_per_worker=1, processes=True, dashboard_address=None,
                                 silence_logs=logging.ERROR)  # fmt: skip
        value = local
    client = _connect(Client, value, cluster)
    held: set[Any] = set()  # a Dask future nobody holds is cancelled

    def submit(fn: Callable[..., Any], /, bot: Any, *args: Any) -> Future[Any]:
        done: Future[Any] = Future()
        remote = client.submit(in_child, checked, fingerprint(bot), fn, bot, *args, pure=False)
        held.add(remote)

        def settle(f: Any) -> None:
            try:
                done.set_result(f.result())
            except BaseException as exc:
                done.set_exception(exc)
            held.discard(f)

        remote.add_done_callback(settle)
        return done

    try:
        yield _Pool(submit, max(1, sum(client.nthreads().values())))
    finally:
        client.close()
        if local is not None:
            local.close()


def _connect(client_type: Any, address: Any, cluster: str) -> Any:
    """Connect with a bounded wait, in a thread: a refused or silent address must not hang."""
    box: dict[str, Any] = {}

    def attempt() -> None:
        try:
            c = client_type(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
            c.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
            box["client"] = c
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(CONNECT_TIMEOUT * 2 + 5)
    if "client" not in box:
        why = box.get("error", f"no answer in {CONNECT_TIMEOUT * 2 + 5:g} s")
        raise ValueError(f"cluster: cannot use the Dask scheduler at {cluster} (with a worker) within "
                         f"{CONNECT_TIMEOUT:g} s: {why}")  # fmt: skip
    return box["client"]


# --- on a worker: each chunk in a child process, whose main thread has the watchdog ---

_idle: list[subprocess.Popen[bytes]] = []
_lock = threading.Lock()


def in_child(fn: Callable[..., Any], /, *args: Any) -> Any:
    """Run ``fn(*args)`` in one of this worker's child processes; ChunkLost if it dies."""
    with _lock:
        child = _idle.pop() if _idle else _spawn()
    try:
        _send(child.stdin, (fn, args))
        ok, value = _receive(child.stdout)
    except (EOFError, OSError, struct.error):
        code = child.wait()
        raise ChunkLost(f"the process running a chunk ended with exit {code} (124: the watchdog's hard stop; "
                        "its message is in the worker's stderr)") from None  # fmt: skip
    with _lock:
        _idle.append(child)
    if not ok:
        raise value
    return value


def _spawn() -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
    code = "import sys; from simbot.explore.executors import serve; serve(sys.stdin.buffer, sys.stdout.buffer)"
    return subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)


def serve(requests: Any, replies: Any) -> None:
    """The child's loop: a call in, its result out, until the worker closes the pipe.

    The pipe is a duplicate of stdout taken before anything runs; stdout itself then goes to
    stderr so that nothing a bot prints can corrupt a reply."""
    out = os.fdopen(os.dup(replies.fileno()), "wb")
    os.dup2(2, 1)
    while True:
        try:
            fn, args = _receive(requests)
        except (EOFError, struct.error):
            return
        try:
            reply: tuple[bool, Any] = (True, fn(*args))
        except Exception as exc:
            reply = (False, exc)
        _send(out, reply)


def _send(stream: Any, obj: Any) -> None:
    data = pickle.dumps(obj)
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def _receive(stream: Any) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack(">Q", head)
    return pickle.loads(stream.read(size))
