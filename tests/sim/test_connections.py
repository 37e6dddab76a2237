"""Virtual TCP connections between simulated processes: what the kernel would do, on loop callbacks."""

from __future__ import annotations

import asyncio
import errno
import signal
from collections.abc import Callable

from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation

Log = list[str]


def now() -> str:
    return f"{asyncio.get_running_loop().time():g}"


def echo_server(log: Log, port: int = 7000, stay: float = 100.0) -> Callable[[InstanceContext], object]:
    async def bot(info: InstanceContext) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            log.append(f"{info.name} {now()} accepted from {writer.get_extra_info('peername')[0]}")
            while data := await reader.read(65536):
                writer.write(data.upper())
                await writer.drain()
            log.append(f"{info.name} {now()} eof")
            writer.close()

        server = await asyncio.start_server(handle, "0.0.0.0", port)
        await asyncio.sleep(stay)
        server.close()

    return bot


def client(
    log: Log, body: Callable[..., object], host: str = "localhost", port: int = 7000
) -> Callable[[InstanceContext], object]:
    async def bot(info: InstanceContext) -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            log.append(f"{info.name} {now()} {type(exc).__name__} errno {exc.errno}")
            return
        await body(info, reader, writer)  # type: ignore[misc]

    return bot


async def say_hello(
    info: InstanceContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    log = info.extra["log"]
    writer.write(b"hello")
    await writer.drain()
    log.append(f"{info.name} {now()} got {(await reader.read(100)).decode()}")
    log.append(
        f"{info.name} socket {writer.get_extra_info('socket')} sockname {writer.get_extra_info('sockname')}"
    )
    writer.close()
    await writer.wait_closed()


def run(log: Log, setup: Callable[[Simulation], None], horizon: float = 30) -> Simulation:
    sim = Simulation(seed=1, horizon=horizon)
    original = sim.spawn

    def spawn(name, entry, **kwargs):  # type: ignore[no-untyped-def]
        instance = original(name, entry, **kwargs)
        instance.info.extra["log"] = log
        return instance

    sim.spawn = spawn  # type: ignore[method-assign]
    setup(sim)
    sim.run()
    return sim


def test_localhost_reaches_a_server_on_the_same_machine_and_bytes_go_both_ways() -> None:
    log: Log = []
    sim = run(log, lambda sim: (sim.at(0, lambda: sim.spawn("server", echo_server(log), host="vps")),
                                sim.at(1, lambda: sim.spawn("c", client(log, say_hello), host="vps"))))  # fmt: skip
    assert log == ["server 1 accepted from 127.0.0.1", "c 1 got HELLO", "c socket None sockname ('127.0.0.1', 32768)",
                   "server 1 eof"]  # fmt: skip
    assert not sim.loop.findings


def test_localhost_on_another_machine_and_a_port_nobody_holds_are_refused_without_a_finding() -> None:
    log: Log = []
    sim = run(log, lambda sim: (sim.at(0, lambda: sim.spawn("server", echo_server(log), host="vps")),
                                sim.at(1, lambda: sim.spawn("elsewhere", client(log, say_hello), host="other")),
                                sim.at(1, lambda: sim.spawn("wrong-port", client(log, say_hello, port=7001), host="vps"))))  # fmt: skip
    assert log == [f"elsewhere 1 ConnectionRefusedError errno {errno.ECONNREFUSED}",
                   f"wrong-port 1 ConnectionRefusedError errno {errno.ECONNREFUSED}"]  # fmt: skip
    assert not sim.loop.findings  # a refused connection is the kernel's answer, not the bot reaching outside


def test_a_host_outside_the_run_is_still_the_real_network_refused_with_a_finding() -> None:
    log: Log = []
    sim = run(
        log, lambda sim: sim.at(0, lambda: sim.spawn("c", client(log, say_hello, host="db.example.com")))
    )
    assert log == ["c 0 OSError errno None"]
    assert [f.what for f in sim.loop.findings] == ["connection to db.example.com:7000"]


def test_a_killed_server_process_closes_its_connections_and_its_port() -> None:
    log: Log = []

    async def wait_for_eof(
        info: InstanceContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        data = await reader.read(100)
        log.append(f"{info.name} {now()} read {data!r}")

    def setup(sim: Simulation) -> None:
        sim.at(0, lambda: sim.spawn("server", echo_server(log), host="vps"))
        sim.at(1, lambda: sim.spawn("c", client(log, wait_for_eof), host="vps"))
        sim.at(5, lambda: sim.signal(sim.instances[0], signal.SIGKILL))
        sim.at(6, lambda: sim.spawn("late", client(log, wait_for_eof), host="vps"))

    run(log, setup)
    assert log == ["server 1 accepted from 127.0.0.1", "c 5 read b''",
                   f"late 6 ConnectionRefusedError errno {errno.ECONNREFUSED}"]  # fmt: skip


def test_a_killed_client_is_an_end_of_file_for_the_server() -> None:
    log: Log = []

    async def hang(info: InstanceContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(100)

    def setup(sim: Simulation) -> None:
        sim.at(0, lambda: sim.spawn("server", echo_server(log), host="vps"))
        sim.at(1, lambda: sim.spawn("c", client(log, hang), host="vps"))
        sim.at(3, lambda: sim.signal(sim.instances[1], signal.SIGKILL))

    run(log, setup)
    assert log == ["server 1 accepted from 127.0.0.1", "server 3 eof"]


def test_abort_resets_the_other_side_and_data_to_a_closed_side_is_answered_with_a_reset() -> None:
    log: Log = []

    async def reset_server(info: InstanceContext) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(5)
            writer.transport.abort()

        await asyncio.start_server(handle, "0.0.0.0", 7000)
        await asyncio.sleep(100)

    async def closed_server(info: InstanceContext) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        await asyncio.start_server(handle, "0.0.0.0", 7001)
        await asyncio.sleep(100)

    async def read_after(
        info: InstanceContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(b"hello")
        try:
            log.append(f"{info.name} read {await reader.read(100)!r}")
            writer.write(b"more")  # after the other side's FIN: its closed socket answers with a reset
            await asyncio.sleep(0.01)
            log.append(f"{info.name} read {await reader.read(100)!r}")
        except ConnectionResetError as exc:
            log.append(f"{info.name} {now()} reset errno {exc.errno}")

    def setup(sim: Simulation) -> None:
        sim.at(0, lambda: sim.spawn("s1", reset_server, host="vps"))
        sim.at(0, lambda: sim.spawn("s2", closed_server, host="vps"))
        sim.at(1, lambda: sim.spawn("aborted", client(log, read_after), host="vps"))
        sim.at(2, lambda: sim.spawn("closed", client(log, read_after, port=7001), host="vps"))

    run(log, setup)
    assert log == [
        f"aborted 1 reset errno {errno.ECONNRESET}",
        "closed read b''",
        f"closed 2.01 reset errno {errno.ECONNRESET}",
    ]


def test_a_slow_reader_pauses_the_transport_and_gets_every_byte_in_order() -> None:
    log: Log = []
    blob = bytes(range(256)) * 4096  # 1 MiB: far past a StreamReader's limit, so it pauses reading

    async def sender(info: InstanceContext) -> None:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(blob)
            writer.write_eof()

        await asyncio.start_server(handle, "0.0.0.0", 7000)
        await asyncio.sleep(100)

    async def slow(info: InstanceContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got = b""
        while chunk := await reader.read(10_000):
            got += chunk
            await asyncio.sleep(0.01)
        paused = writer.transport.is_reading()
        log.append(f"{info.name} {len(got)} same {got == blob} reading {paused}")

    run(log, lambda sim: (sim.at(0, lambda: sim.spawn("s", sender, host="vps")),
                          sim.at(1, lambda: sim.spawn("c", client(log, slow), host="vps"))))  # fmt: skip
    assert log == [f"c {len(blob)} same True reading True"]


def test_connections_are_deterministic() -> None:
    def once() -> list[str]:
        log: Log = []
        run(log, lambda sim: (sim.at(0, lambda: sim.spawn("server", echo_server(log), host="vps")),
                              *(sim.at(1 + i * 0.5, lambda i=i: sim.spawn(f"c{i}", client(log, say_hello), host="vps"))
                                for i in range(4))))  # fmt: skip
        return log

    first = once()
    assert len(first) == 4 * 3 + 4 and first == once()


def test_nothing_arrives_while_reading_is_paused_and_all_of_it_in_order_on_resume() -> None:
    log: Log = []

    class Paused(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            transport.pause_reading()  # type: ignore[attr-defined]
            asyncio.get_running_loop().call_later(3, transport.resume_reading)  # type: ignore[attr-defined]

        def data_received(self, data: bytes) -> None:
            log.append(f"{now()} {data.decode()}")

        def eof_received(self) -> bool:
            log.append(f"{now()} eof")
            return False

    async def server(info: InstanceContext) -> None:
        await asyncio.get_running_loop().create_server(Paused, "0.0.0.0", 7000)
        await asyncio.sleep(100)

    async def sender(
        info: InstanceContext, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        for word in ("a", "b", "c"):
            writer.write(word.encode())
            await asyncio.sleep(0.5)
        writer.write_eof()

    run(log, lambda sim: (sim.at(0, lambda: sim.spawn("s", server, host="vps")),
                          sim.at(1, lambda: sim.spawn("c", client(log, sender), host="vps"))))  # fmt: skip
    assert log == ["4 a", "4 b", "4 c", "4 eof"]


def test_the_runs_own_names_resolve_to_virtual_addresses_that_connect_and_others_are_refused() -> None:
    log: Log = []

    async def lookup(info: InstanceContext) -> None:
        loop = asyncio.get_running_loop()
        [(*_, (address, port))] = await loop.getaddrinfo("localhost", 7000)
        reader, writer = await asyncio.open_connection(address, port)
        writer.write(b"by address")
        log.append(f"{address} {(await reader.read(100)).decode()}")
        try:
            await loop.getaddrinfo("api.example.com", 443)
        except OSError:
            log.append("api.example.com refused")

    sim = run(log, lambda sim: (sim.at(0, lambda: sim.spawn("server", echo_server(log), host="vps")),
                                sim.at(1, lambda: sim.spawn("c", lookup, host="vps"))))  # fmt: skip
    assert log == [
        "server 1 accepted from 127.0.0.1",
        "127.0.0.1 BY ADDRESS",
        "api.example.com refused",
        "server 1 eof",
    ]
    assert [f.what for f in sim.loop.findings] == ["name lookup api.example.com:443"]
