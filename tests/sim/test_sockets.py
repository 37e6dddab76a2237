"""Servers built on the socket module (tornado's way) inside a simulation: sim/sockets.py.

The server here is written as tornado writes one, without tornado: a non-blocking listening socket,
``loop.add_reader`` for accept and for each connection's reads, ``recv_into`` and ``send``. Clients are
other simulated processes using asyncio streams (the platform edge uses the same virtual connections).
"""

from __future__ import annotations

import asyncio
import errno
import signal
import socket
from typing import Any

from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation


def raw_server(log: list[str], port: int = 8080, chunk: int = 3, host: str = "0.0.0.0", listen: bool = True):  # type: ignore[no-untyped-def]
    """Echo, upper-cased, whatever a connection sends until its end; reads ``chunk`` bytes per wake."""

    async def bot(info: InstanceContext) -> None:
        loop = asyncio.get_running_loop()
        name = info.name
        try:
            family, kind, proto, _, address = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0,
                                                                 socket.AI_PASSIVE)[0]  # fmt: skip
            sock = socket.socket(family, kind, proto)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setblocking(False)
            sock.bind(address)
        except OSError as exc:
            log.append(f"{name} {loop.time():g} bind errno {exc.errno}")
            return
        log.append(f"{name} {loop.time():g} bound {sock.getsockname()}")
        if not listen:
            await asyncio.sleep(100)
            return
        sock.listen(16)

        def readable(conn: Any, received: bytearray) -> None:
            buf = bytearray(chunk)
            try:
                n = conn.recv_into(buf, chunk)
            except BlockingIOError:
                log.append(f"{name} spurious wake")
                return
            if n == 0:
                loop.remove_reader(conn.fileno())
                conn.send(bytes(received).upper())
                conn.close()
                return
            received += buf[:n]

        def accept() -> None:
            while True:
                try:
                    conn, peer = sock.accept()
                except BlockingIOError:
                    return
                log.append(f"{name} {loop.time():g} accepted from {peer[0]}")
                loop.add_reader(conn.fileno(), readable, conn, bytearray())

        loop.add_reader(sock.fileno(), accept)
        await asyncio.sleep(100)

    return bot


def client(log: list[str], target: str = "localhost", port: int = 8080, text: bytes = b"hello world"):  # type: ignore[no-untyped-def]
    async def bot(info: InstanceContext) -> None:
        loop = asyncio.get_running_loop()
        try:
            reader, writer = await asyncio.open_connection(target, port)
        except OSError as exc:
            log.append(f"{info.name} {loop.time():g} {type(exc).__name__}")
            return
        writer.write(text)
        writer.write_eof()
        log.append(f"{info.name} {loop.time():g} got {await reader.read()!r}")
        writer.close()

    return bot


def test_a_socket_module_server_accepts_reads_and_answers_over_the_virtual_network() -> None:
    log: list[str] = []
    sim = Simulation(seed=1, horizon=20)
    sim.at(0, lambda: sim.spawn("server", raw_server(log), host="box"))
    sim.at(1, lambda: sim.spawn("client", client(log), host="box"))
    sim.run()
    # 11 bytes read 3 at a time: the reader is woken again while data is left (level-triggered), never idly
    assert log == ["server 0 bound ('0.0.0.0', 8080)", "server 1 accepted from 127.0.0.1", "client 1 got b'HELLO WORLD'"]


def test_the_port_is_held_per_machine_and_released_when_the_process_dies() -> None:
    log: list[str] = []
    sim = Simulation(seed=1, horizon=20)
    sim.at(0, lambda: sim.spawn("a", raw_server(log), host="box"))
    sim.at(1, lambda: sim.spawn("b", raw_server(log), host="box"))  # same machine: in use
    sim.at(1, lambda: sim.spawn("c", raw_server(log), host="other"))  # its own port 8080
    sim.at(2, lambda: sim.signal(sim.instances[0], signal.SIGKILL))
    sim.at(3, lambda: sim.spawn("late", client(log), host="box"))  # nobody listens on box now
    sim.at(4, lambda: sim.spawn("d", raw_server(log), host="box"))  # the dead process's port is free again
    sim.at(5, lambda: sim.spawn("e", client(log), host="box"))
    sim.run()
    assert sorted(log) == [
        "a 0 bound ('0.0.0.0', 8080)", f"b 1 bind errno {errno.EADDRINUSE}", "c 1 bound ('0.0.0.0', 8080)",
        "d 4 bound ('0.0.0.0', 8080)", "d 5 accepted from 127.0.0.1", "e 5 got b'HELLO WORLD'",
        "late 3 ConnectionRefusedError",
    ]  # fmt: skip


def test_bound_but_not_listening_refuses_as_the_kernel_does() -> None:
    log: list[str] = []
    sim = Simulation(seed=1, horizon=20)
    sim.at(0, lambda: sim.spawn("server", raw_server(log, listen=False), host="box"))
    sim.at(1, lambda: sim.spawn("client", client(log), host="box"))
    sim.run()
    assert log == ["server 0 bound ('0.0.0.0', 8080)", "client 1 ConnectionRefusedError"]


def test_port_zero_gets_an_ephemeral_port_and_runs_number_alike() -> None:
    def once() -> tuple[list[str], str]:
        log: list[str] = []
        sim = Simulation(seed=1, horizon=20)
        sim.at(0, lambda: sim.spawn("server", raw_server(log, port=0), host="box"))
        return log, sim.run().digest()

    first, second = once(), once()
    assert first == second
    assert first[0] == ["server 0 bound ('0.0.0.0', 32768)"]
