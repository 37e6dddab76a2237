"""Helpers for the framework tests: a real ``fake-telegram serve`` subprocess, log queries,
and the retry schedules the frameworks document (docs/frameworks.md)."""

from __future__ import annotations

import asyncio
import itertools
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

OTHER_GET_UPDATES = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
THROTTLE_HOLD = 3.0  # the fake's (and Telegram's) delay for a second 409 within 3 s
EPS = 1e-4  # virtual time is kept in whole microseconds: each sleep may round up by 1 µs


# -- documented retry schedules --------------------------------------------------------


def ptb_backoff(n: int) -> list[float]:
    """network_retry_loop with poll_interval=0: 1, then x1.5 per failure, capped at 30 s (§1.2)."""
    delays: list[float] = []
    cur = 0.0
    for _ in range(n):
        cur = 1.0 if cur == 0 else min(30.0, 1.5 * cur)
        delays.append(cur)
    return delays


def aiogram_backoff(n: int, *, min_delay: float, max_delay: float, factor: float) -> list[float]:
    """aiogram's Backoff with jitter=0: min_delay, then x factor, capped at max_delay (§2)."""
    delays = [min_delay]
    while len(delays) < n:
        delays.append(min(delays[-1] * factor, max_delay))
    return delays[:n]


# -- reading a log ---------------------------------------------------------------------


def conflicts(entries: Sequence[Any]) -> list[Any]:
    """Answered 409 "terminated by other getUpdates request", in the order they were answered.

    ``entries`` are ``Exchange`` objects (in process) or ``Record`` objects (over HTTP).
    """
    kicked = [e for e in entries if e.status == 409 and e.description == OTHER_GET_UPDATES]
    return sorted(kicked, key=lambda e: (e.answered_at, e.id))


def retry_gaps(entries: Sequence[Any], who: str) -> list[float]:
    """For each of ``who``'s getUpdates answered 409: how long until its next getUpdates."""
    polls = [e for e in entries if e.caller == who and e.method == "getUpdates"]
    return [
        nxt.at - cur.answered_at
        for cur, nxt in itertools.pairwise(polls)
        if cur.status == 409 and cur.answered_at is not None
    ]


def alternates(callers: Sequence[str]) -> bool:
    return all(a != b for a, b in itertools.pairwise(callers))


# -- a real server -----------------------------------------------------------------------


@dataclass
class Server:
    base: str  # http://127.0.0.1:PORT
    output: Path  # the subprocess's stdout and stderr
    proc: subprocess.Popen[bytes]

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_fake(directory: Path, *args: str, startup: float = 10.0) -> Iterator[Server]:
    """``fake-telegram serve`` on a free loopback port as a real subprocess; killed on exit."""
    port = free_port()
    output = directory / "fake-telegram.log"
    command = [
        sys.executable,
        "-m",
        "fake_telegram.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *args,
    ]
    with output.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Server(f"http://127.0.0.1:{port}", output, proc)
    try:
        deadline = time.monotonic() + startup
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"fake-telegram exited with {proc.returncode}:\n{server.text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"fake-telegram not accepting connections after {startup} s") from None
                time.sleep(0.02)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def server_log(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    """GET /_fake/bot<token>/log: the server's request log for one token."""
    response = await client.get(f"/_fake/bot{token}/log")
    body = response.json()
    assert body["ok"], body
    return body["result"]


async def webhook_log(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    """GET /_fake/bot<token>/log?kind=webhook: the server's webhook delivery events for one token."""
    response = await client.get(f"/_fake/bot{token}/log", params={"kind": "webhook"})
    body = response.json()
    assert body["ok"], body
    return body["result"]


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, every: float = 0.05
) -> None:
    """Real-time polling with a hard bound (for the real-HTTP tests only)."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(every)


class Record:
    """A real-HTTP log entry (JSON) with the attribute names of ``Exchange``."""

    def __init__(self, entry: dict[str, Any]):
        self.__dict__.update(entry)

    def __repr__(self) -> str:
        return f"Record({self.__dict__})"


def records(entries: list[dict[str, Any]]) -> list[Any]:
    return [Record(e) for e in entries]
