"""A real redis-server on 127.0.0.1 for the lease-store tests (Debian package redis-server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.clients.support import free_port
from tests.startup.redis_server import redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    with redis_server(port, tmp_path_factory.mktemp("redis")):
        yield f"redis://127.0.0.1:{port}/0"
