"""Listening servers in a simulation: a port per host held while its process lives, no real socket."""

from __future__ import annotations

import asyncio
import errno
import signal

from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation


def serve(log: list[str], port: int = 8080, stay: float = 5.0):  # type: ignore[no-untyped-def]
    async def bot(info: InstanceContext) -> None:
        try:
            server = await asyncio.start_server(lambda r, w: None, "0.0.0.0", port)
        except OSError as exc:
            log.append(f"{info.name} {asyncio.get_running_loop().time():g} errno {exc.errno}")
            return
        log.append(f"{info.name} {asyncio.get_running_loop().time():g} serving {server.is_serving()}")
        await asyncio.sleep(stay)
        server.close()
        await server.wait_closed()

    return bot


def test_a_port_is_taken_on_its_host_only_and_freed_when_its_process_dies() -> None:
    log: list[str] = []
    sim = Simulation(seed=1, horizon=30)
    sim.at(0, lambda: sim.spawn("a", serve(log, stay=100), host="vps"))
    sim.at(1, lambda: sim.spawn("b", serve(log), host="vps"))  # the same machine: in use
    sim.at(1, lambda: sim.spawn("c", serve(log), host="other"))  # another machine: its own port 8080
    sim.at(2, lambda: sim.signal(sim.instances[0], signal.SIGKILL))  # a dies without closing: the port is freed
    sim.at(3, lambda: sim.spawn("d", serve(log), host="vps"))
    sim.run()
    assert sorted(log) == ["a 0 serving True", f"b 1 errno {errno.EADDRINUSE}", "c 1 serving True", "d 3 serving True"]


def test_closing_frees_the_port_and_nothing_real_listens() -> None:
    log: list[str] = []
    sim = Simulation(seed=1, horizon=30)
    sim.at(0, lambda: sim.spawn("a", serve(log, port=0, stay=1), host="vps"))
    sim.at(2, lambda: sim.spawn("b", serve(log, stay=1), host="vps"))
    sim.at(4, lambda: sim.spawn("c", serve(log, stay=1), host="vps"))
    sim.run()
    assert log == ["a 0 serving True", "b 2 serving True", "c 4 serving True"]
