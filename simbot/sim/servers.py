"""Listening servers inside a simulation: a port per host, and nobody connects (yet).

Bots on web platforms open a port (an aiohttp health check, ``asyncio.start_server``):
Render, Heroku and Railway route HTTP to it. A real listening socket would outlive its
simulated process and make the next instance on "another machine" fail with ``address
already in use`` — a verdict about the harness, not the bot. So ``loop.create_server``
gives a server that holds ``(host, port)`` in the run's port table while its process
lives, refuses a second holder on the same host as the kernel would (``EADDRINUSE``),
and never receives a connection: no router sends traffic yet. Raw ``socket.bind`` /
``listen`` stay refused (sandbox.py): a server in a thread cannot be modelled anyway.
"""

from __future__ import annotations

import asyncio
import errno
from typing import Any

from .process import Instance, current

FIRST_EPHEMERAL = 32768  # port 0 asks the kernel for one; Linux starts its range here


class PortTable:
    """Who holds which port on which host, for one run."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, int], tuple[Instance | None, VirtualServer]] = {}
        self.next_free: dict[str, int] = {}

    def bind(self, loop: asyncio.AbstractEventLoop, host: str | None, port: int | None) -> VirtualServer:
        owner = current.get()
        machine = _machine(owner)
        port = int(port or 0)
        if port == 0:
            port = self.next_free.get(machine, FIRST_EPHEMERAL)
            self.next_free[machine] = port + 1
        key = (machine, port)
        holder = self.held.get(key)
        if holder is not None and not holder[1].closed and (holder[0] is None or holder[0].alive):
            raise OSError(errno.EADDRINUSE, f"error while attempting to bind on address ({host!r}, {port}): "
                                            "address already in use")  # fmt: skip
        server = VirtualServer(loop, self, key, host or "0.0.0.0")
        self.held[key] = (owner, server)
        return server


class VirtualServer(asyncio.AbstractServer):
    """What ``create_server`` returns: serving, closable, with no real socket behind it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, table: PortTable, key: tuple[str, int], host: str) -> None:
        self._loop = loop
        self._table = table
        self.key = key
        self.host = host
        self.closed = False
        self._done: asyncio.Future[None] = loop.create_future()

    @property
    def port(self) -> int:
        return self.key[1]

    @property
    def sockets(self) -> tuple[Any, ...]:
        return ()  # aiohttp then reports the port it asked for

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._table.held.get(self.key, (None, None))[1] is self:
                del self._table.held[self.key]
            if not self._done.done():
                self._done.set_result(None)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return not self.closed

    async def start_serving(self) -> None:
        return None

    async def serve_forever(self) -> None:
        await asyncio.shield(self._done)

    async def wait_closed(self) -> None:
        return None


def _machine(owner: Instance | None) -> str:
    if owner is None:
        return "harness"
    process = owner.process
    return str(getattr(process, "host", None) or owner.name)
