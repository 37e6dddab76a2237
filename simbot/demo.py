"""The reference scenario: a Render worker deploy of two real python-telegram-bot instances.

Generation 1 starts at 0 s; a deploy at 30 s starts generation 2, which Render
runs side by side with the old one for its 60 s hold before SIGTERM. Both run
PTB with every framework default. Updates arrive every 10 s.
"""

from __future__ import annotations

from fake_telegram import message_update

from .check import Verdict, judge
from .drivers.ptb import naive
from .platforms import preset
from .platforms.service import Service
from .sim.simulation import Simulation
from .sim.trace import Trace


def render_worker_deploy(seed: int = 0, horizon: float = 180.0) -> Trace:
    sim = Simulation(seed=seed, horizon=horizon)
    service = Service(sim, preset("render_worker"), naive)
    sim.at(0.0, service.start)
    sim.at(30.0, service.deploy)
    for t in range(5, int(horizon), 10):
        sim.at(float(t), lambda: sim.push(message_update("hello", date=int(sim.epoch + sim.now()))))
    return sim.run()


def run(seed: int = 0) -> tuple[Trace, Verdict]:
    trace = render_worker_deploy(seed)
    return trace, judge(trace)
