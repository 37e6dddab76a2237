"""A shared Redis on the virtual network: fakeredis's command engine behind a RESP server.

Bots take a Redis lock (``SET bot:lock ID NX PX 6000``) or keep an ownership record
before they poll. To run them unmodified, the run gets a Redis server at ``redis:6379``
(``REDIS_URL=redis://redis:6379/0``): a listening ``VirtualServer`` on a machine of its
own, so ``redis.asyncio.Redis.from_url(...)`` connects through ``loop.create_connection``
(connections.py) and speaks real RESP2/RESP3 to it. The commands, Lua scripts included,
run in fakeredis's engine (the same one its TCP server uses), one ``FakeRedisConnection``
per client connection; replies are encoded by fakeredis's own RESP encoder.

Time: fakeredis reads ``time.time()`` when a command runs and expires keys lazily against
it. The server's callbacks run in a context of their own (no instance: no clock skew, and
no process whose death or pause would hold them), on the simulation's thread, where the
wall clock is ``epoch + loop.time()`` (wallclock.py): a key set with ``PX 6000`` at
t=10 s is gone for every client from t=16 s of virtual time, deterministically.

Not modelled: a command that would block (``BLPOP``, ``XREAD BLOCK``, ``WAIT``) when it
would have to wait; it is answered with an error and reported as a finding, never waited
for in real time. Pub/sub messages reach a subscriber when any client's command has run.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from fakeredis import FakeServer
from fakeredis._clients._sync import FakeRedisConnection
from fakeredis._clients._tcp_server import _INTERNAL_CONNECTION_KWARGS, encode_reply
from fakeredis._helpers import SimpleError
from fakeredis._typing import RaiseErrorTypes

HOST, PORT = "redis", 6379
URL = f"redis://{HOST}:{PORT}/0"


class RedisService:
    """One Redis server for a run, listening on ``host:port`` of the virtual network."""

    def __init__(self, loop: Any, host: str = HOST, port: int = PORT) -> None:
        self.loop = loop
        self.host, self.port = host, port
        self.engine = FakeServer()
        self.clients: list[_RespConnection] = []
        loop.ports.services[host] = host  # the service's name is its machine's
        # bound in an empty context: its connections belong to no instance
        self.server = contextvars.Context().run(loop.ports.bind, loop, host, port, self._accept, machine=host)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def _accept(self) -> _RespConnection:
        return _RespConnection(self)

    def drain(self) -> None:
        """Send every client what its connection has to say (replies, and pub/sub messages)."""
        for client in list(self.clients):
            client.flush()


class _RespConnection(asyncio.Protocol):
    """The server's end of one client connection: bytes in, fakeredis, RESP replies out."""

    def __init__(self, service: RedisService) -> None:
        self.service = service
        self.transport: asyncio.Transport | None = None
        self.client: FakeRedisConnection | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        here, there = transport.get_extra_info("sockname"), transport.get_extra_info("peername")
        self.client = FakeRedisConnection(server=self.service.engine, client_info={
            "laddr": f"{here[0]}:{here[1]}", "addr": f"{there[0]}:{there[1]}", "fd": 8 + len(self.service.clients)},
            **_INTERNAL_CONNECTION_KWARGS)  # fmt: skip
        self.client.get_socket()._blocking = self._would_block  # type: ignore[attr-defined]
        self.service.clients.append(self)

    def data_received(self, data: bytes) -> None:
        assert self.client is not None
        try:
            self.client.get_socket().sendall(data)
        except Exception as exc:  # a malformed request: redis answers with an error and closes
            self._write(exc)
            assert self.transport is not None
            self.transport.close()
            return
        self.service.drain()

    def flush(self) -> None:
        client = self.client
        if client is None or self.transport is None or self.transport.is_closing():
            return
        while client.can_read():
            try:
                reply = client.read_response()
            except RaiseErrorTypes as exc:  # an error reply: sent, and the connection goes on
                reply = exc
            self._write(reply)

    def _write(self, reply: Any) -> None:
        assert self.client is not None and self.transport is not None
        version = self.client.get_socket()._client_info.protocol_version
        self.transport.write(encode_reply(reply, version))

    def eof_received(self) -> bool:
        return False  # the client hung up: close our end too

    def connection_lost(self, exc: BaseException | None) -> None:
        if self in self.service.clients:
            self.service.clients.remove(self)
        if self.client is not None:
            self.client.disconnect()  # type: ignore[no-untyped-call]
            self.client = None

    def _would_block(self, timeout: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Answer a blocking command at once when it need not wait; refuse it when it would."""
        result = func(True)
        socket = self.client.get_socket() if self.client is not None else None
        if result is not None or getattr(socket, "_in_transaction", False):
            shape = args[0] if args else kwargs.get("shape")
            return result if shape is None else shape(result)
        self.service.loop.report("a blocking Redis command that would wait (not modelled)")
        raise SimpleError("ERR simbot: blocking Redis commands that wait are not modelled in a simulation")
