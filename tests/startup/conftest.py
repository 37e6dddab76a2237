"""A real redis-server on 127.0.0.1 for the lease-store tests (Debian package redis-server).

It is started when the run is collected, not when the first test asks for it: RedisStore takes a server
up for less than one TTL for a fresh one (it may have lost its records), so the real-process lease tests
would each wait one TTL (15 s) before their first poll. Started early, it is older than that by then.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.support import free_port
from tests.startup.redis_server import redis_server

_early = contextlib.ExitStack()
_early_url: list[str] = []


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if _early_url or not shutil.which("redis-server"):
        return
    if any("redis_url" in getattr(item, "fixturenames", ()) for item in items):
        port = free_port()
        workdir = Path(_early.enter_context(tempfile.TemporaryDirectory(prefix="simbot-redis-")))
        _early.enter_context(redis_server(port, workdir))
        _early_url.append(f"redis://127.0.0.1:{port}/0")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _early.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if _early_url:
        yield _early_url[0]
        return
    port = free_port()
    with redis_server(port, tmp_path_factory.mktemp("redis")):
        yield f"redis://127.0.0.1:{port}/0"
