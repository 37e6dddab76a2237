"""The sandbox: every escape the hardening issue measured, against a real listener on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation


class Listener:
    """A TCP listener on 127.0.0.1 that counts every connection and byte reaching it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.05)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.settimeout(0.2)
            with contextlib.suppress(OSError):
                self.received += conn.recv(4096)
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def attempt(action: Callable[[], Any]) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """Run ``action`` inside a bot; what it raised, its findings and the exits."""
    seen: list[str] = []

    async def bot(info: InstanceContext) -> None:
        try:
            result = action()
            if asyncio.iscoroutine(result):
                await result
            seen.append(f"returned {result!r}"[:40])
        except Exception as exc:
            seen.append(type(exc).__name__)
        await asyncio.sleep(1)

    sim = Simulation(seed=1, horizon=5, watchdog=10)
    sim.at(0, lambda: sim.spawn("sneaky", bot))
    trace = sim.run()
    return seen, trace.of("finding"), trace.of("exit")


def assert_refused(listener: Listener, findings: list[dict[str, Any]], what: str) -> None:
    assert listener.connections == 0 and listener.received == b""
    assert findings, "no finding"
    assert all(f["instance"] == "sneaky" for f in findings)
    assert what in findings[0]["what"], findings
    # the bot's own line (the action, not ``attempt``'s call of it), as a path relative to the checkout
    assert findings[0]["where"].startswith("tests/sim/test_sandbox.py:"), findings
    assert not findings[0]["where"].endswith(" in bot"), findings


def test_socket_connect_is_refused(listener: Listener) -> None:
    seen, findings, _ = attempt(lambda: socket.socket().connect(("127.0.0.1", listener.port)))
    assert seen == ["ConnectionRefusedError"]
    assert_refused(listener, findings, f"socket connect to 127.0.0.1:{listener.port}")


def test_non_blocking_connect_ex_fails_as_a_closed_port_does(listener: Listener) -> None:
    def connect_ex() -> int:
        sock = socket.socket()
        sock.setblocking(False)
        return sock.connect_ex(("127.0.0.1", listener.port))

    seen, findings, _ = attempt(lambda: connect_ex())
    import errno

    assert seen == [f"returned {errno.ECONNREFUSED!r}"]
    assert_refused(listener, findings, "socket connect to 127.0.0.1")


def test_create_connection_is_refused(listener: Listener) -> None:
    seen, findings, _ = attempt(lambda: socket.create_connection(("127.0.0.1", listener.port)))
    assert seen == ["ConnectionRefusedError"]
    assert_refused(listener, findings, f"connection to 127.0.0.1:{listener.port}")


def test_name_lookups_are_refused(listener: Listener) -> None:
    seen, findings, _ = attempt(lambda: socket.getaddrinfo("bot.example.org", listener.port))
    assert seen == ["gaierror"]
    assert_refused(listener, findings, f"name lookup bot.example.org:{listener.port}")
    seen, findings, _ = attempt(lambda: socket.gethostbyname("localhost"))
    assert seen == ["gaierror"] and findings[0]["what"] == "name lookup localhost"


def test_addresses_a_server_binds_resolve_inside_the_run() -> None:
    """tornado's bind_sockets asks getaddrinfo for the address it binds: answered, no lookup, no finding."""
    passive = socket.AI_PASSIVE
    for host, flags, expected in ((None, passive, "0.0.0.0"), ("", 0, "127.0.0.1"), ("0.0.0.0", passive, "0.0.0.0"),
                                  ("localhost", 0, "127.0.0.1"), ("::", passive, "::")):  # fmt: skip
        seen, findings, _ = attempt(lambda h=host, f=flags: socket.getaddrinfo(h, 8080, 0, socket.SOCK_STREAM, 0, f)[0][4][0])
        assert seen == [f"returned {expected!r}"] and findings == [], (host, seen, findings)


def test_a_datagram_listener_is_refused_and_a_tcp_one_binds_nothing_real() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    seen, findings, _ = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", port)))
    assert seen == ["PermissionError"] and findings[0]["what"] == f"listening socket on 127.0.0.1:{port}"

    def tcp() -> tuple[str, int]:
        sock = socket.socket()
        sock.bind(("127.0.0.1", port))
        sock.listen(8)
        return sock.getsockname()

    seen, findings, _ = attempt(tcp)  # held in the run's port table (sim/sockets.py)
    assert seen == [f"returned {('127.0.0.1', port)!r}"[:40]] and findings == []
    again = socket.socket()  # nothing real was bound: the port is still free outside the simulation
    again.bind(("127.0.0.1", port))
    again.close()


def test_a_datagram_is_refused(listener: Listener) -> None:
    seen, findings, _ = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", 9)))
    assert seen == ["ConnectionRefusedError"]
    assert_refused(listener, findings, "datagram to 127.0.0.1:9")


def test_urllib_is_refused(listener: Listener) -> None:
    import urllib.request

    seen, findings, _ = attempt(lambda: urllib.request.urlopen(f"http://127.0.0.1:{listener.port}/", timeout=1))
    assert seen == ["URLError"]
    assert_refused(listener, findings, f"connection to 127.0.0.1:{listener.port}")


def test_http_client_is_refused(listener: Listener) -> None:
    import http.client

    def get() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", listener.port, timeout=1)
        connection.request("GET", "/")

    seen, findings, _ = attempt(lambda: get())
    assert seen == ["ConnectionRefusedError"]
    assert_refused(listener, findings, "connection to 127.0.0.1")


def test_requests_is_refused_if_installed(listener: Listener) -> None:
    requests = pytest.importorskip("requests")
    seen, findings, _ = attempt(lambda: requests.get(f"http://127.0.0.1:{listener.port}/", timeout=1))
    assert seen == ["ConnectionError"]
    assert listener.connections == 0 and findings


def test_a_thread_is_refused(listener: Listener) -> None:
    def reach() -> None:
        socket.create_connection(("127.0.0.1", listener.port)).sendall(b"from a thread")

    seen, findings, _ = attempt(lambda: threading.Thread(target=reach).start())
    assert seen == ["RuntimeError"]
    assert_refused(listener, findings, "thread start")


def test_a_thread_pool_is_refused(listener: Listener) -> None:
    from concurrent.futures import ThreadPoolExecutor

    seen, findings, _ = attempt(lambda: ThreadPoolExecutor(1).submit(socket.create_connection, ("127.0.0.1", listener.port)))
    assert seen == ["RuntimeError"]
    assert_refused(listener, findings, "thread pool call")


CURL = "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1]))).sendall(b'from a process')"


def test_subprocess_run_is_refused(listener: Listener) -> None:
    import subprocess
    import sys

    seen, findings, _ = attempt(lambda: subprocess.run([sys.executable, "-c", CURL, str(listener.port)]))
    assert seen == ["PermissionError"]
    assert_refused(listener, findings, "process ")


def test_os_system_is_refused(listener: Listener) -> None:
    import sys

    seen, findings, _ = attempt(lambda: os.system(f'{sys.executable} -c "{CURL}" {listener.port}'))
    assert seen == ["PermissionError"]
    assert_refused(listener, findings, "process ")


def test_os_fork_is_refused(listener: Listener) -> None:
    seen, findings, _ = attempt(lambda: os.fork())
    assert seen == ["PermissionError"]
    assert_refused(listener, findings, "process fork")


def test_os_execv_is_refused(listener: Listener) -> None:
    import sys

    seen, findings, _ = attempt(lambda: os.execv(sys.executable, [sys.executable, "-c", CURL, str(listener.port)]))
    assert seen == ["PermissionError"]
    assert_refused(listener, findings, "process exec")


def test_an_asyncio_subprocess_is_refused(listener: Listener) -> None:
    import sys

    seen, findings, _ = attempt(lambda: asyncio.create_subprocess_exec(sys.executable, "-c", CURL, str(listener.port)))
    assert seen == ["PermissionError"]
    assert listener.connections == 0 and findings[0]["what"].startswith("process ")
    assert findings[0]["where"].startswith("tests/sim/test_sandbox.py:")


def test_os_exit_ends_only_that_instance_without_its_cleanup() -> None:
    ran: list[str] = []

    async def quits(info: InstanceContext) -> None:
        await asyncio.sleep(2)
        try:
            os._exit(3)
        except BaseException:
            ran.append("handler")  # a real os._exit runs no handler
        ran.append("after")

    async def stays(info: InstanceContext) -> None:
        await asyncio.sleep(4)
        ran.append("the other instance goes on")

    sim = Simulation(seed=1, horizon=10)
    sim.at(0, lambda: sim.spawn("quits", quits))
    sim.at(0, lambda: sim.spawn("stays", stays))
    trace = sim.run()
    assert [(e["instance"], e["t"], e["code"]) for e in trace.of("exit")] == [("quits", 2.0, 3), ("stays", 4.0, 0)]
    assert ran == ["the other instance goes on"]
    [finding] = trace.of("finding")
    assert finding["what"] == "os._exit(3)" and "in quits" in finding["where"]
    assert not trace.of("uncaught")


def test_the_real_functions_come_back_after_the_run_and_other_threads_keep_them(listener: Listener) -> None:
    reached: list[bool] = []
    go, done = threading.Event(), threading.Event()

    def other() -> None:  # pytest's threads, say: untouched while a run is on
        go.wait(10)
        socket.create_connection(("127.0.0.1", listener.port)).close()
        reached.append(True)
        done.set()

    thread = threading.Thread(target=other)
    thread.start()

    async def bot(info: InstanceContext) -> None:
        go.set()
        done.wait(10)

    sim = Simulation(seed=1, horizon=2)
    sim.at(0, lambda: sim.spawn("bot", bot))
    sim.run()
    thread.join()
    assert reached == [True]
    socket.create_connection(("127.0.0.1", listener.port)).close()  # and after the run, here too
    assert os._exit.__module__ == "posix" and threading.Thread.start.__module__ == "threading"


def test_a_process_sees_its_simulated_machines_name_not_the_real_one() -> None:
    names: list[str] = []

    async def bot(info: InstanceContext) -> None:
        names.append(socket.gethostname())

    sim = Simulation(seed=1, horizon=5)
    sim.at(0, lambda: sim.spawn("a", bot, host="vps-1"))
    sim.at(0, lambda: sim.spawn("b", bot))
    sim.run()
    assert names == ["vps-1", "b"]
    assert socket.gethostname() not in ("vps-1", "b")  # the harness keeps the real one
