"""Virtual TCP connections: a client's transport joined to a listening server's protocol, in memory.

A bot that talks to a service (Redis for a lock, say) opens a TCP connection with
``asyncio.open_connection`` or ``loop.create_connection``. Inside a simulation no real
socket may open, so ``VirtualLoop.create_connection`` comes here: when a live
``VirtualServer`` holds the address (servers.py), a pair of transports joins the caller's
protocol to one the server's ``protocol_factory`` makes. Every byte, end of file and reset
travels as a loop callback in the receiving side's context, so it is deterministic, it
belongs to the receiving process (a SIGKILLed process receives nothing, a SIGSTOPped one
receives it when continued), and the schedule may reorder it like any other callback.

What the kernel does, kept: a port nobody holds refuses the connection
(``ConnectionRefusedError``); ``close`` sends a FIN (the other side sees end of file);
``abort``, or data sent to a side that is gone, resets the connection
(``ConnectionResetError`` on the other side); a process that dies has its sockets closed
for it (a FIN, or a reset if it left received data unread). Writes never block (the
buffer is unbounded), so ``drain`` returns at once.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
from typing import Any

from .process import Instance, current

_DATA, _EOF, _RESET = "data", "eof", "reset"


def reset_error() -> ConnectionResetError:
    return ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")


class VirtualTransport(asyncio.Transport):
    """One end of a virtual TCP connection; what the other end sends arrives by loop callbacks."""

    def __init__(self, loop: asyncio.AbstractEventLoop, context: contextvars.Context, owner: Instance | None,
                 sockname: tuple[str, int], peername: tuple[str, int]) -> None:  # fmt: skip
        super().__init__({"sockname": sockname, "peername": peername, "socket": None})
        self._loop = loop
        self._context = context
        self._owner = owner
        self._protocol: asyncio.BaseProtocol | None = None
        self.peer: VirtualTransport | None = None
        self._started = False  # connection_made has run: arrivals before it wait
        self._paused = False
        self._backlog: list[tuple[str, Any]] = []
        self._closing = False
        self._eof_sent = False
        self._lost = False
        if owner is not None:
            owner.resources.append(self._owner_died)

    # -- asyncio.Transport ----------------------------------------------------------

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self._protocol is not None
        return self._protocol

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def is_closing(self) -> bool:
        return self._closing

    def is_reading(self) -> bool:
        return not self._paused and not self._closing

    def pause_reading(self) -> None:
        self._paused = True

    def resume_reading(self) -> None:
        if self._paused:
            self._paused = False
            self._loop.call_soon(self._flush, context=self._context)

    def get_write_buffer_size(self) -> int:
        return 0  # delivered at once: a writer never waits for the buffer to drain

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (0, 0)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        return None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__!r}")
        if self._eof_sent:
            raise RuntimeError("Cannot call write() after write_eof()")
        if not data or self._lost:
            return
        self._send(_DATA, bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        if self._closing or self._eof_sent:
            return
        self._eof_sent = True
        self._send(_EOF, None)

    def close(self) -> None:
        """A FIN to the other side (unless one went already), then ``connection_lost(None)`` here."""
        if self._closing:
            return
        self._closing = True
        if not self._eof_sent:
            self._eof_sent = True
            self._send(_EOF, None)
        self._loop.call_soon(self._connection_lost, None, context=self._context)

    def abort(self) -> None:
        """A reset to the other side, then ``connection_lost(None)`` here."""
        if self._lost:
            return
        self._closing = True
        self._send(_RESET, None)
        self._loop.call_soon(self._connection_lost, None, context=self._context)

    # -- the wire -------------------------------------------------------------------

    def _send(self, kind: str, payload: Any) -> None:
        peer = self.peer
        if peer is not None:
            self._loop.call_soon(peer._arrive, kind, payload, context=peer._context)

    def _arrive(self, kind: str, payload: Any) -> None:
        if self._lost:
            if kind == _DATA and self.peer is not None:
                self.peer._loop.call_soon(self.peer._arrive, _RESET, None, context=self.peer._context)
            return  # a closed socket answers data with a reset, and hears nothing else
        if not self._started or self._paused or self._backlog:
            self._backlog.append((kind, payload))
            return
        self._handle(kind, payload)

    def _flush(self) -> None:
        while self._backlog and self._started and not self._paused and not self._lost:
            kind, payload = self._backlog.pop(0)
            self._handle(kind, payload)

    def _handle(self, kind: str, payload: Any) -> None:
        protocol = self._protocol
        assert protocol is not None
        if kind == _RESET:
            self._closing = True
            self._connection_lost(reset_error())
            return
        try:
            if kind == _DATA:
                protocol.data_received(payload)  # type: ignore[attr-defined]
            elif not protocol.eof_received():  # type: ignore[attr-defined]
                self.close()  # what a selector transport does when the protocol does not keep it open
        except Exception as exc:  # as asyncio's own transports: report it, then drop the connection
            self._loop.call_exception_handler({"message": f"Fatal error: protocol.{kind}_received() call failed.",
                                               "exception": exc, "transport": self, "protocol": protocol})  # fmt: skip
            self.abort()

    def start(self, protocol: asyncio.BaseProtocol, made: asyncio.Future[None] | None = None) -> None:
        """Give this end its protocol and tell it so (``connection_made``), in this end's context;
        ``made`` is done once it has been told."""
        self._protocol = protocol
        self._loop.call_soon(self._made, made, context=self._context)

    def _made(self, made: asyncio.Future[None] | None) -> None:
        if not self._lost and not self._started:
            assert self._protocol is not None
            self._started = True
            self._protocol.connection_made(self)
            self._flush()
        if made is not None and not made.done():
            if self._lost:
                made.set_exception(reset_error())
            else:
                made.set_result(None)

    def _connection_lost(self, exc: BaseException | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._closing = True
        self._backlog.clear()
        if self._owner is not None and self._owner_died in self._owner.resources:
            self._owner.resources.remove(self._owner_died)
        if self._started and self._protocol is not None:
            self._protocol.connection_lost(exc)

    def _owner_died(self) -> None:
        """The kernel closes a dead process's sockets: a FIN, or a reset if received data was never read."""
        if self._lost:
            return
        unread = any(kind == _DATA for kind, _ in self._backlog)
        if unread or not self._eof_sent:
            self._send(_RESET if unread else _EOF, None)
        self._lost = self._closing = True
        self._backlog.clear()


def connect(loop: asyncio.AbstractEventLoop, protocol_factory: Any, server: Any, local: tuple[str, int],
            remote: tuple[str, int]) -> tuple[VirtualTransport, asyncio.Future[None]]:  # fmt: skip
    """Join a new protocol of the caller's (at ``local``) to a new protocol of ``server``'s (at ``remote``).
    Returns the caller's transport and a future done once its ``connection_made`` has run."""
    owner = current.get()
    context = contextvars.copy_context()
    client = VirtualTransport(loop, context, owner, local, remote)
    accepted = VirtualTransport(loop, server.context, server.owner, remote, local)
    client.peer, accepted.peer = accepted, client
    loop.call_soon(server.accept, accepted, context=server.context)
    made: asyncio.Future[None] = loop.create_future()
    client.start(protocol_factory(), made)
    return client, made
