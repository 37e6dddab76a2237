"""Running a scenario: a Simulation built from the file, judged, compared with [expect]."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from fake_telegram import message_update

from ..check import Verdict, judge
from ..drivers.policies import with_policy, with_startup
from ..platforms import PRESETS
from ..platforms.service import Service, stray
from ..sim.network import Network
from ..sim.simulation import Simulation
from ..sim.trace import Trace
from ..startup import MemoryStore
from .model import Event, Scenario
from .platform import platform_values as _platform_values


def simulate(s: Scenario) -> Trace:
    platform = dataclasses.replace(PRESETS[s.platform], **_platform_values(s.platform_overrides))
    sim = Simulation(seed=s.seed, horizon=s.horizon, network=Network(s.latency, s.drop))
    sim.shared["lease_store"] = MemoryStore(latency=s.store_latency, outages=list(s.store_outages),
                                            wipes=list(s.store_wipes), seed=s.seed)  # fmt: skip
    entry = (with_policy(s.bot.policy, **s.bot.params) if s.bot.policy
             else with_startup(s.bot.startup) if s.bot.startup else s.bot.entry)  # fmt: skip
    service = Service(sim, platform, entry)  # type: ignore[arg-type]
    for start, end in s.store_outages:
        sim.at(start, lambda seconds=end - start: sim.record("store_outage", None, seconds=seconds))
    for at in s.store_wipes:
        sim.at(at, lambda: sim.record("store_wipe", None))
    if not any(e.kind == "start" for e in s.events):
        sim.at(0.0, service.start)
    for event in s.events:
        if event.kind == "stray":
            p = event.params
            on = p.get("replica")
            stray(sim, p.get("entry", "simbot.drivers.ptb:naive"), start=event.at, stop=p.get("until"),
                  name=p.get("name", "stray"), host=None if on is None else lambda on=on: service.replica_host(on))  # fmt: skip
        else:
            sim.at(event.at, _action(sim, service, event))
    times = set(s.updates.at)
    if s.updates.every:
        t = s.updates.start
        while t < s.horizon:
            times.add(round(t, 6))
            t += s.updates.every
    for t in sorted(times):
        sim.at(t, lambda: sim.push(message_update("hello", date=int(sim.epoch + sim.now()))))
    return sim.run()


def _action(sim: Simulation, service: Service, event: Event) -> Callable[[], object]:
    p = event.params

    def instance(replica: int):  # type: ignore[no-untyped-def]
        slot = service.slots[replica] if replica < len(service.slots) else None
        return slot.instance if slot is not None else None

    def pause(freeze: Callable[..., object]) -> None:
        target = instance(p.get("replica", 0))
        if target is not None:
            freeze(target, p["seconds"])

    actions: dict[str, Callable[[], object]] = {
        "start": service.start,
        "deploy": service.deploy,
        "restart": service.restart,
        "crash": lambda: service.crash(p.get("replica", 0), p.get("code", 137)),
        "scale": lambda: service.scale(p["replicas"]),
        "pause": lambda: pause(sim.pause),
        "pause_before_poll": lambda: pause(sim.pause_before_next_poll),
        "webhook": lambda: sim.set_webhook(p["url"]),
        "telegram_outage": lambda: sim.telegram_fault(p["seconds"], p.get("status", 429), p.get("retry_after", 5)),
    }
    return actions[event.kind]


def replay(s: Scenario) -> tuple[Trace, Verdict, list[str]]:
    """Run ``s``; the mismatches against its [expect] (all checks must not fail when it has none)."""
    trace = simulate(s)
    verdict = judge(trace)
    return trace, verdict, mismatches(verdict, s.expect)


def mismatches(verdict: Verdict, expect: dict[str, str]) -> list[str]:
    """What differs from [expect]; the rules (status included) are the verdict's own."""
    return verdict.differences(expect)
