"""Listening servers inside a simulation: a port per host, and connections to it.

Bots on web platforms open a port (an aiohttp health check, ``asyncio.start_server``):
Render, Heroku and Railway route HTTP to it. A real listening socket would outlive its
simulated process and make the next instance on "another machine" fail with ``address
already in use`` — a verdict about the harness, not the bot. So ``loop.create_server``
gives a server that holds ``(host, port)`` in the run's port table while its process
lives, refuses a second holder on the same host as the kernel would (``EADDRINUSE``),
and accepts the virtual connections (connections.py) that processes open to it:
``localhost`` is the caller's own machine, a service's name (``redis``) is the machine
the run's service listens on; a web platform's edge (platforms/edge.py) sends webhook POSTs to
the process it routes to, at its ``PORT``. A process's
servers close when it dies, as the kernel closes its listening sockets. A server built on
the socket module (tornado: ``bind``, ``listen``, ``accept``) holds its port here too (sockets.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
from typing import Any

from .process import Instance, current

FIRST_EPHEMERAL = 32768  # port 0 asks the kernel for one; Linux starts its range here
LOOPBACK = ("localhost", "127.0.0.1", "::1", "0.0.0.0")  # the caller's own machine


class PortTable:
    """Who holds which port on which host, for one run."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, int], tuple[Instance | None, VirtualServer]] = {}
        self.next_free: dict[str, int] = {}
        self.services: dict[str, str] = {}  # a service's host name -> the machine it runs on
        self.addresses: dict[str, str] = {}  # machine -> its private address, given in order of first use

    def bind(self, loop: asyncio.AbstractEventLoop, host: str | None, port: int | None,
             protocol_factory: Any = None, *, machine: str | None = None) -> VirtualServer:  # fmt: skip
        """Hold ``port`` on the caller's machine (or ``machine``, for a service outside every process)."""
        owner = None if machine is not None else current.get()
        machine = machine or _machine(owner)
        port = int(port or 0)
        if port == 0:
            port = self.ephemeral(machine)
        key = (machine, port)
        if self.held_by_someone(key):
            raise OSError(errno.EADDRINUSE, f"error while attempting to bind on address ({host!r}, {port}): "
                                            "address already in use")  # fmt: skip
        server = VirtualServer(loop, self, key, host or "0.0.0.0", protocol_factory, owner)
        self.held[key] = (owner, server)
        if owner is not None:
            owner.resources.append(server.close)
        return server

    def ephemeral(self, machine: str) -> int:
        port = self.next_free.get(machine, FIRST_EPHEMERAL)
        self.next_free[machine] = port + 1
        return port

    def held_by_someone(self, key: tuple[str, int]) -> bool:
        holder = self.held.get(key)
        return holder is not None and not holder[1].closed and (holder[0] is None or holder[0].alive)

    def listening(self, key: tuple[str, int]) -> VirtualServer | None:
        holder = self.held.get(key)
        if holder is None or holder[1].closed or (holder[0] is not None and not holder[0].alive):
            return None
        if holder[1].protocol_factory is None:
            return None  # bound, not yet listening (sockets.py): the kernel refuses a connection
        return holder[1]

    def serving(self) -> dict[Instance, list[int]]:
        """The live processes that hold a listening port, with their ports in order."""
        found: dict[Instance, list[int]] = {}
        for (_, port), (owner, server) in sorted(self.held.items(), key=lambda item: item[0]):
            if owner is not None and owner.alive and not server.closed and server.protocol_factory is not None:
                found.setdefault(owner, []).append(port)
        return found

    def machine_of(self, host: str) -> str | None:
        """The machine a connection to ``host`` (a name or an address ``resolve`` gave) reaches from the
        caller's: None for a host outside the run."""
        own = _machine(current.get())
        if host in LOOPBACK or host == own:
            return own
        if host in self.services:
            return self.services[host]
        return next((machine for machine, address in self.addresses.items() if address == host), None)

    def resolve(self, host: str) -> str | None:
        """What a name lookup of ``host`` answers inside the run: None for a name outside it."""
        machine = self.machine_of(host)
        if machine is None:
            return None
        return "127.0.0.1" if machine == _machine(current.get()) else self.address(machine)

    def address(self, machine: str) -> str:
        if machine not in self.addresses:
            self.addresses[machine] = f"10.0.0.{len(self.addresses) + 2}"
        return self.addresses[machine]


class VirtualServer(asyncio.AbstractServer):
    """What ``create_server`` returns: serving, closable, with no real socket behind it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, table: PortTable, key: tuple[str, int], host: str,
                 protocol_factory: Any, owner: Instance | None) -> None:  # fmt: skip
        self._loop = loop
        self._table = table
        self.key = key
        self.host = host
        self.protocol_factory = protocol_factory
        self.owner = owner
        self.context = contextvars.copy_context()  # accepted connections run where the server was made
        self.address = table.address(key[0])
        self.closed = False
        self._done: asyncio.Future[None] = loop.create_future()

    def accept(self, transport: Any) -> None:
        """A client connected: a protocol of the server's own for it (in the server's context)."""
        if self.protocol_factory is None:
            transport.abort()
            return
        transport.start(self.protocol_factory())

    @property
    def port(self) -> int:
        return self.key[1]

    @property
    def sockets(self) -> tuple[Any, ...]:
        return ()  # aiohttp then reports the port it asked for

    def close(self) -> None:
        """Stop listening; connections already accepted stay open (asyncio's ``Server.close``)."""
        if not self.closed:
            self.closed = True
            if self._table.held.get(self.key, (None, None))[1] is self:
                del self._table.held[self.key]
            if self.owner is not None and self.close in self.owner.resources:
                self.owner.resources.remove(self.close)
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


def machine_of_caller() -> str:
    """The machine the calling process runs on ("harness" outside every process)."""
    return _machine(current.get())
