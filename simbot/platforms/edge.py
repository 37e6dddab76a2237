"""The platform's HTTP edge in a simulation: a webhook POST in, the routed process's answer out.

The fake's delivery engine hands each POST to the simulation's deliver seam
(fake_telegram/core/delivery.py); for a URL a service publishes, the seam calls this
edge. It picks a process by the preset's rule (routing.py) and carries the request as
HTTP/1.1 over a virtual TCP connection (sim/connections.py) to the server that process
holds on its machine at ``PORT`` — the bot's own aiohttp or tornado server, unmodified.
Telegram only ever sees the edge: the process's answer, or the edge's own 502/503 when
nobody is routable, the port is closed, the connection is reset or a proxy timeout
expires. Everything runs on the run's virtual clock; a choice among several routable
processes comes from the edge's own seeded PRNG.

A scenario can break the edge itself (docs/scenarios.md, webhook faults): ``endpoint_errors``
answers POSTs with a 5xx without reaching any process (a failing proxy or health check),
and ``routing_lag`` freezes the routing table for a while (endpoints that propagate late).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import h11

from fake_telegram.core.delivery import Answer, Outcome, Post

from ..sim import connections
from ..sim.process import Instance
from .routing import Routing, Target, choose, routable

if TYPE_CHECKING:
    from ..sim.simulation import Simulation

LOOPBACK_ONLY = ("127.0.0.1", "localhost", "::1")
EDGE_ADDRESS = "10.0.255.1"  # where the edge's connections come from (outside every machine of the run)


@dataclass(frozen=True, slots=True)
class Errors:
    """An ``endpoint_errors`` window: the edge answers ``status`` itself (for one replica's POSTs, or all)."""

    start: float
    end: float
    status: int
    replica: int | None = None

    def hits(self, now: float, replica: int | None) -> bool:
        """Whether it answers a POST now: ``replica`` None asks for the whole edge's windows."""
        return self.start <= now < self.end and self.replica == replica


class Edge:
    """One service's edge: what the platform tells it (launch, ready, cutover, signal) and the POSTs."""

    def __init__(self, sim: Simulation, rule: Routing, name: str):
        self.sim = sim
        self.rule = rule
        self.rng = random.Random(
            f"{sim.seed}:edge:{name}"
        )  # not drawn from the run's PRNG: other runs unchanged
        self.targets: dict[str, Target] = {}
        self.instances: dict[str, Instance] = {}
        self._launched = 0
        self._routed: tuple[str, ...] | None = None  # the routable set last seen, to record its changes
        self._unreachable: set[str] = set()  # instances already recorded as listening on loopback only
        self.errors: list[Errors] = []  # endpoint_errors windows
        self.frozen: tuple[tuple[str, ...], float] | None = None  # routing_lag: the table in use, and until when

    # -- what the platform tells the edge --------------------------------------------

    def launched(self, instance: Instance, replica: int, replaces: bool) -> None:
        self._launched += 1
        self.targets[instance.name] = Target(instance.name, self._launched, replica, replaces)
        self.instances[instance.name] = instance

    def ready(self, instance: Instance) -> None:
        if instance.name in self.targets:
            self.targets[instance.name].ready = True

    def cutover(self, instance: Instance | None) -> None:
        if instance is not None and instance.name in self.targets:
            self.targets[instance.name].cut_over = True

    def signalled(self, instance: Instance) -> None:
        target = self.targets.get(instance.name)
        if target is not None and target.signalled_at is None:
            target.signalled_at = self.sim.now()

    # -- faults a scenario injects ------------------------------------------------------

    def fail_for(self, seconds: float, status: int, replica: int | None = None) -> None:
        """For ``seconds`` from now the edge answers ``status`` to every POST (routed to ``replica``, or all)
        without reaching a process: a broken proxy, a failing health check. Telegram retries on its ladder."""
        now = self.sim.now()
        self.errors.append(Errors(now, now + seconds, status, replica))

    def lag(self, seconds: float) -> tuple[str, ...]:
        """For ``seconds`` from now the edge routes by the table it has now: whatever the platform does
        meanwhile (a cutover, a stop signal, a new process listening) reaches it only at the end. A
        process stopped in the window still gets POSTs, and the platform's 502 (or 503) when its port is
        closed; one that became routable gets none until the end. Returns the frozen table."""
        now = self.sim.now()
        self._refresh()
        names = tuple(t.name for t in routable(list(self.targets.values()), self.rule, now))
        self.frozen = (names, now + seconds)
        return names

    def _failing(self, now: float, replica: int | None) -> Answer | None:
        for window in self.errors:
            if window.hits(now, replica):
                return Answer(window.status, HTTPStatus(window.status).phrase)
        return None

    # -- a POST -------------------------------------------------------------------------

    def _refresh(self) -> None:
        ports = self.sim.loop.ports
        for name, target in self.targets.items():
            instance = self.instances[name]
            target.alive = instance.alive
            machine = str(getattr(instance.process, "host", None) or name)
            server = ports.listening((machine, self.rule.port))
            target.listening = instance.alive and reachable(server)
            if instance.alive and server is not None and not target.listening and name not in self._unreachable:
                self._unreachable.add(name)  # the verdict must say why this instance never gets a POST
                self.sim.record("unreachable", name, host=server.host, port=self.rule.port)
            elif instance.alive and server is None and name not in self._unreachable:
                other = ports.serving().get(instance)
                if other:  # serving, on a port the platform does not forward to
                    self._unreachable.add(name)
                    self.sim.record("wrong_port", name, ports=other, port=self.rule.port)

    async def __call__(self, post: Post) -> Outcome:
        now = self.sim.now()
        self._refresh()
        broken = self._failing(now, None) if self.errors else None
        if broken is not None:
            return broken  # the whole edge fails: no process is chosen
        if self.frozen is not None and now < self.frozen[1]:
            routed = [self.targets[name] for name in self.frozen[0]]  # the stale table, dead processes included
        else:
            routed = routable(list(self.targets.values()), self.rule, now)
        self._note_routing([t.name for t in routed])
        target = choose(routed, self.rng)
        if target is None:
            return Answer(*self.rule.no_target)
        broken = self._failing(now, target.replica) if self.errors else None
        if broken is not None:
            return broken  # that replica's proxy fails
        instance = self.instances[target.name]
        machine = str(getattr(instance.process, "host", None) or target.name)
        server = self.sim.loop.ports.listening((machine, self.rule.port))
        if not reachable(server):
            return Answer(
                *self.rule.bad_gateway, instance=target.name
            )  # the port is closed: connection refused
        exchange = _exchange(self.sim.loop, server, post, self.sim.loop.ports.ephemeral("edge"))
        try:
            if self.rule.proxy_timeout is None:
                status, reason, headers, body = await exchange
            else:
                status, reason, headers, body = await asyncio.wait_for(exchange, self.rule.proxy_timeout)
        except TimeoutError:
            return Answer(*self.rule.no_target, instance=target.name)  # Heroku H12: the router gives up
        except (ConnectionError, h11.ProtocolError):
            return Answer(*self.rule.bad_gateway, instance=target.name)  # reset, or closed without an answer
        return Answer(status, reason, headers, body, instance=target.name)

    def _note_routing(self, names: list[str]) -> None:
        """A ``route`` event each time the routable set changes (seen at a POST): the trace shows the switch."""
        if tuple(names) != self._routed:
            self._routed = tuple(names)
            self.sim.record("route", None, url=self.rule.public_url, to=names)


def reachable(server: Any) -> bool:
    """The edge connects from outside the process's machine: a server bound to loopback only
    (``127.0.0.1``, ``localhost``, ``::1``, behind a same-host nginx in aiogram's and PTB's examples)
    refuses it, as the kernel does; ``0.0.0.0``, ``::`` or the machine's address accept it."""
    return server is not None and server.host not in LOOPBACK_ONLY


class _Pipe(asyncio.Protocol):
    """The edge's end of one connection: what arrives goes to a queue the exchange reads."""

    def __init__(self) -> None:
        self.arrived: asyncio.Queue[bytes | BaseException] = asyncio.Queue()

    def data_received(self, data: bytes) -> None:
        self.arrived.put_nowait(data)

    def eof_received(self) -> bool:
        self.arrived.put_nowait(b"")
        return True

    def connection_lost(self, exc: BaseException | None) -> None:
        self.arrived.put_nowait(exc if exc is not None else b"")


async def _exchange(loop: Any, server: Any, post: Post, port: int) -> tuple[int, str, dict[str, str], bytes]:
    """One HTTP/1.1 request and its whole response, over a fresh virtual connection (no pooling)."""
    transport, made = connections.connect(
        loop, _Pipe, server, (EDGE_ADDRESS, port), (server.address, server.port)
    )
    await made
    pipe = transport.get_protocol()
    assert isinstance(pipe, _Pipe)
    conn = h11.Connection(our_role=h11.CLIENT)
    headers = [(k, v) for k, v in post.headers if k.lower() != "connection"] + [("Connection", "close")]
    transport.write(conn.send(h11.Request(method="POST", target=post.target, headers=headers)))
    transport.write(conn.send(h11.Data(data=post.body)))
    transport.write(conn.send(h11.EndOfMessage()))
    status, reason, got, body = 0, "", {}, bytearray()
    try:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                chunk = await pipe.arrived.get()
                if isinstance(chunk, BaseException):
                    raise chunk
                conn.receive_data(chunk)
            elif isinstance(event, h11.Response):
                status, reason = event.status_code, event.reason.decode("latin-1")
                got = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return status, reason, got, bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionResetError("closed without an answer")
    finally:
        transport.close()
