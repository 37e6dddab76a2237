"""Listening stream sockets in a simulation: a server written on ``socket`` + ``add_reader`` runs as written.

aiohttp listens through ``loop.create_server`` (servers.py), but tornado — python-telegram-bot's
``run_webhook`` — builds its server from the socket module: ``getaddrinfo``, ``socket.socket``,
``bind``, ``listen``, then ``accept``, ``recv_into`` and ``send`` on non-blocking sockets, woken
by ``loop.add_reader`` / ``add_writer``. Inside a simulation those calls come here instead of the
kernel (the sandbox routes them, sandbox.py):

- ``bind`` of a TCP socket holds the port in the run's port table, on the process's machine, as
  ``create_server`` does (``EADDRINUSE`` for a second holder); ``listen`` starts accepting the
  run's virtual connections (connections.py) — the platform edge's webhook POSTs among them;
- ``accept`` hands out a :class:`StreamSocket`: the accepted end of a virtual connection with the
  socket methods a non-blocking server calls, and a descriptor number of its own (never a real
  one, so the kernel is never asked about it);
- the loop's ``add_reader`` / ``add_writer`` on such a socket (or on the listening one) are
  level-triggered as a selector is: the callback runs, in the registering process's context,
  for as long as the socket stays ready and the callback registered.

The listening socket itself is the bot's real, never-bound socket object (so ``isinstance`` and
``fileno`` behave); it is only ever a key into :class:`SocketTable`. A process that dies has its
listening port released (servers.py) and its connections closed (connections.py), as the kernel
does. Not modelled: ``select``/``poll`` on these sockets, UDP, Unix sockets, TLS.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import socket
from collections import deque
from collections.abc import Callable
from typing import Any

from .process import current

_real_close = socket.socket.close  # the kernel's, before a simulation's sandbox replaces it
FIRST_FD = 1 << 20  # descriptor numbers of accepted sockets: far above any the process really has

_Watcher = tuple[Callable[..., object], tuple[Any, ...], contextvars.Context]


class _Ready:
    """What a selector would report for one descriptor: level-triggered read and write callbacks."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._watchers: dict[str, _Watcher] = {}
        self._queued: set[str] = set()

    def readable(self) -> bool:
        raise NotImplementedError

    def writable(self) -> bool:
        return True

    def watch(self, kind: str, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._watchers[kind] = (callback, args, contextvars.copy_context())
        self.poke()

    def unwatch(self, kind: str) -> bool:
        return self._watchers.pop(kind, None) is not None

    def watched(self) -> bool:
        return bool(self._watchers)

    def poke(self) -> None:
        """Something changed: wake each watcher whose condition holds (once until it has run)."""
        for kind, (_, _, context) in list(self._watchers.items()):
            if kind not in self._queued and self._ready(kind):
                self._queued.add(kind)
                self._loop.call_soon(self._fire, kind, context=context)

    def _ready(self, kind: str) -> bool:
        return self.readable() if kind == "r" else self.writable()

    def _fire(self, kind: str) -> None:
        self._queued.discard(kind)
        watcher = self._watchers.get(kind)
        if watcher is None or not self._ready(kind):
            return
        callback, args, _ = watcher
        callback(*args)
        self.poke()  # still ready and still watched: a selector would report it again


class Listener(_Ready):
    """A bound (then listening) TCP socket of the bot's: its port, and connections waiting in ``accept``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, table: SocketTable, sock: socket.socket,
                 server: Any) -> None:  # fmt: skip
        super().__init__(loop)
        self.table = table
        self.sock = sock
        self.server = server
        self.backlog: deque[StreamSocket] = deque()

    def readable(self) -> bool:
        return bool(self.backlog)

    def listen(self) -> None:
        self.server.protocol_factory = self._accepted

    def _accepted(self) -> asyncio.Protocol:
        return _Feed(StreamSocket(self._loop, self.table, self.sock.family), self)

    def accept(self) -> tuple[StreamSocket, tuple[str, int]]:
        if not self.backlog:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        conn = self.backlog.popleft()
        return conn, conn.getpeername()

    def close(self) -> None:
        self.server.close()
        self.backlog.clear()


class StreamSocket(_Ready):
    """The accepted end of a virtual TCP connection, as the non-blocking socket a server reads and writes."""

    type = socket.SOCK_STREAM
    proto = socket.IPPROTO_TCP

    def __init__(self, loop: asyncio.AbstractEventLoop, table: SocketTable, family: int) -> None:
        super().__init__(loop)
        self.table = table
        self.family = family
        self._fd = table.new_fd(self)
        self._transport: asyncio.Transport | None = None
        self._received = bytearray()
        self._eof = False
        self._error: OSError | None = None
        self._closed = False

    # -- what the connection delivers (_Feed) ------------------------------------------------

    def made(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def arrived(self, data: bytes) -> None:
        self._received += data
        self.poke()

    def ended(self) -> None:
        self._eof = True
        self.poke()

    def lost(self, exc: BaseException | None) -> None:
        if exc is not None and not self._eof:
            self._error = exc if isinstance(exc, OSError) else ConnectionResetError(errno.ECONNRESET, str(exc))
        self._eof = True
        self.poke()

    def readable(self) -> bool:
        return bool(self._received) or self._eof or self._closed

    # -- the socket methods a server calls ---------------------------------------------------

    def fileno(self) -> int:
        return -1 if self._closed else self._fd

    def setblocking(self, flag: bool) -> None:
        return None  # always non-blocking: a blocking read would stop the whole simulation

    def settimeout(self, value: float | None) -> None:
        return None

    def gettimeout(self) -> float | None:
        return 0.0

    def setsockopt(self, *args: Any) -> None:
        return None  # TCP_NODELAY, keep-alive: nothing to tune on an in-memory connection

    def getsockopt(self, level: int, option: int, *args: Any) -> int:
        if option == socket.SO_ERROR:
            return self._error.errno or 0 if self._error is not None else 0
        return 0

    def getsockname(self) -> tuple[str, int]:
        return self._transport.get_extra_info("sockname") if self._transport else ("0.0.0.0", 0)

    def getpeername(self) -> tuple[str, int]:
        if self._transport is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")
        return self._transport.get_extra_info("peername")

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if self._closed:
            raise OSError(errno.EBADF, "Bad file descriptor")
        if self._received:
            data = bytes(self._received[:bufsize])
            del self._received[:bufsize]
            return data
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        if self._eof:
            return b""
        raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        data = self.recv(nbytes or len(view))
        view[: len(data)] = data
        return len(data)

    def send(self, data: Any, flags: int = 0) -> int:
        if self._closed:
            raise OSError(errno.EBADF, "Bad file descriptor")
        if self._error is not None or self._transport is None or self._transport.is_closing():
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        payload = bytes(data)
        self._transport.write(payload)  # the buffer is unbounded: every byte goes at once
        return len(payload)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.send(data)

    def shutdown(self, how: int) -> None:
        if self._transport is not None and how in (socket.SHUT_WR, socket.SHUT_RDWR):
            self._transport.write_eof()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._watchers.clear()
        self.table.forget(self._fd)
        if self._transport is not None:
            self._transport.close()  # a FIN, as close() on a socket


class _Feed(asyncio.Protocol):
    """Joins a virtual connection to its StreamSocket, and queues the socket for ``accept``."""

    def __init__(self, conn: StreamSocket, listener: Listener) -> None:
        self.conn = conn
        self.listener = listener

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.conn.made(transport)
        self.listener.backlog.append(self.conn)
        self.listener.poke()

    def data_received(self, data: bytes) -> None:
        self.conn.arrived(data)

    def eof_received(self) -> bool:
        self.conn.ended()
        return True  # half-open: the server may still answer

    def connection_lost(self, exc: BaseException | None) -> None:
        self.conn.lost(exc)


class SocketTable:
    """One run's virtual sockets by descriptor: the listeners (the bot's own socket's number) and the
    accepted connections (numbers from FIRST_FD up, in order, so every run numbers them alike)."""

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.by_fd: dict[int, _Ready] = {}
        self.graveyard: list[socket.socket] = []
        self._next_fd = FIRST_FD

    def new_fd(self, conn: StreamSocket) -> int:
        fd, self._next_fd = self._next_fd, self._next_fd + 1
        self.by_fd[fd] = conn
        return fd

    def forget(self, fd: int) -> None:
        self.by_fd.pop(fd, None)

    def of(self, fd: Any) -> _Ready | None:
        number = fd if isinstance(fd, int) else getattr(fd, "fileno", lambda: None)()
        return self.by_fd.get(number) if isinstance(number, int) else None

    def listener(self, sock: Any) -> Listener | None:
        found = self.of(sock)
        return found if isinstance(found, Listener) and found.sock is sock else None

    def bind(self, sock: socket.socket, address: Any) -> None:
        """Hold the address's port on the caller's machine for ``sock`` (not yet accepting)."""
        host, port = address[0], address[1]
        server = self.loop.ports.bind(self.loop, str(host), int(port))
        listener = Listener(self.loop, self, sock, server)
        self.by_fd[sock.fileno()] = listener
        owner = current.get()
        if owner is not None:
            owner.resources.append(lambda: self._died(listener))

    def _died(self, listener: Listener) -> None:
        """The process is gone: its port is free again, as the kernel frees it. The real socket object
        stays open until the run ends, so its number is not handed to another process's socket: the
        processes share one asyncio loop and so one tornado IOLoop, whose handler table (keyed by
        descriptor) still holds the dead process's entry — a reused number would be "added twice"."""
        if self.by_fd.get(listener.sock.fileno()) is listener:
            self.forget(listener.sock.fileno())
        listener.close()
        self.graveyard.append(listener.sock)

    def close_all(self) -> None:
        """The run is over: close the real sockets of listeners whose processes died."""
        while self.graveyard:
            _real_close(self.graveyard.pop())

    def close(self, sock: socket.socket) -> None:
        listener = self.listener(sock)
        if listener is not None:
            self.forget(sock.fileno())
            listener._watchers.clear()
            listener.close()
