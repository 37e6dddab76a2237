"""Running a scenario: a Simulation built from the file, judged, compared with [expect]."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from fake_telegram import message_update

from ..check import Verdict, judge
from ..platforms import PRESETS
from ..platforms.service import Service, stray
from ..sim.network import Network
from ..sim.process import EntryPoint
from ..sim.simulation import Simulation
from ..sim.trace import Trace
from ..startup import MemoryStore
from .model import WEBHOOK_EVENTS, Bot, Event, Scenario
from .platform import platform_values as _platform_values
from .targets import token_env


def simulate(s: Scenario) -> Trace:
    return build(s).run()


def entry_point(bot: Bot) -> EntryPoint | str:
    """What each process of the bot runs. PTB is imported only for simbot's own policies and start-ups,
    so a scenario of an aiogram bot runs where only aiogram is installed."""
    if bot.script is not None:
        from ..sim import program

        return program.script(bot.script)
    if bot.module is not None:
        from ..sim import program

        return program.module(bot.module)
    if bot.main is not None:
        from ..sim import program

        return program.main(bot.main)
    if bot.policy or bot.startup:
        from ..drivers.policies import with_policy, with_startup

        return with_policy(bot.policy, **bot.params) if bot.policy else with_startup(bot.startup)  # type: ignore[no-any-return]
    assert bot.entry is not None
    return bot.entry


def build(s: Scenario) -> Simulation:
    """The simulation of ``s``, ready to ``run()``. Only the simulation's token is served: a bot that reads
    its token from elsewhere is answered 401 Unauthorized, as Telegram answers a wrong token, and crashes
    loudly instead of polling some other bot (``foreign_tokens`` says which token it used)."""
    platform = dataclasses.replace(PRESETS[s.platform], **_platform_values(s.platform_overrides))
    sim = Simulation(seed=s.seed, horizon=s.horizon, network=Network(s.latency, s.drop), schedule=s.schedule)
    sim.fake.allowed_tokens = frozenset({sim.token})
    sim.shared["lease_store"] = MemoryStore(latency=s.store_latency, outages=list(s.store_outages),
                                            wipes=list(s.store_wipes), seed=s.seed)  # fmt: skip
    env = {**services_env(sim, s.services), **s.bot.env}  # the user's own --env / bot.env wins
    service = Service(sim, platform, entry_point(s.bot), env=token_env(sim.token, env), public_url=s.public_url)  # type: ignore[arg-type]
    for start, end in s.store_outages:
        sim.at(start, lambda seconds=end - start: sim.record("store_outage", None, seconds=seconds))
    for at in s.store_wipes:
        sim.at(at, lambda: sim.record("store_wipe", None))
    if service.edge is None and any(e.kind in WEBHOOK_EVENTS for e in s.events):
        kinds = sorted({e.kind for e in s.events if e.kind in WEBHOOK_EVENTS})
        raise ValueError(f"events: {', '.join(kinds)} need a platform that routes HTTP to the bot; "
                         f"{s.platform} routes none")  # fmt: skip
    if not any(e.kind == "start" for e in s.events):
        sim.at(0.0, service.start)
    for event in s.events:
        if event.kind == "stray":
            p = event.params
            on = p.get("replica")
            entry, stray_env = stray_entry(s.bot, p.get("entry"), sim.token, env)
            stray(sim, entry, start=event.at, stop=p.get("until"), name=p.get("name", "stray"), env=stray_env,
                  host=None if on is None else lambda on=on: service.replica_host(on))  # fmt: skip
        else:
            sim.at(event.at, _action(sim, service, event))
    times = set(s.updates.at)
    if s.updates.every:
        t = s.updates.start
        while t < s.horizon:
            times.add(round(t, 6))
            t += s.updates.every
    for k, t in enumerate(sorted(times)):
        chat = 1000 + k % s.updates.chats
        sim.at(t, lambda chat=chat: sim.push(message_update("hello", chat_id=chat, date=int(sim.epoch + sim.now()))))
    return sim


def stray_entry(bot: Bot, entry: str | None, token: str,
                env: dict[str, str] | None = None) -> tuple[EntryPoint | str, dict[str, str] | None]:  # fmt: skip
    """What a stray runs: its ``entry``; else a copy of the user's own bot (script, module or main, with
    its env: someone started the same bot by hand); else, for simbot's own policies, their framework's
    defaults."""
    if entry is not None:
        return entry, None
    if bot.script is not None or bot.module is not None or bot.main is not None:
        return entry_point(bot), token_env(token, bot.env if env is None else env)
    from ..drivers.policies import AIOGRAM

    if bot.policy in AIOGRAM:
        return "simbot.drivers.aiogram:naive", None  # the framework that is installed
    return "simbot.drivers.ptb:naive", None


def services_env(sim: Simulation, services: tuple[str, ...]) -> dict[str, str]:
    """Start the scenario's shared services on ``sim``'s network; the environment that points a bot at them."""
    env: dict[str, str] = {}
    if "redis" in services:
        from ..sim.redis_service import RedisService

        env["REDIS_URL"] = RedisService(sim.loop).url
    return env


def foreign_tokens(sim: Simulation) -> list[str]:
    """Tokens other than the simulation's that the bot sent requests with (each refused 401), in first-use order."""
    return list(dict.fromkeys(e.token for e in sim.fake.log.entries if e.token is not None and e.token != sim.token))


def version(p: dict[str, object]) -> tuple[EntryPoint | None, dict[str, str] | None]:
    """A deploy event's new version: its script's entry point and the env it adds (None: the same)."""
    script = p.get("script")
    entry = entry_point(Bot(script=script)) if isinstance(script, str) else None
    env = p.get("env")
    return entry, (dict(env) if isinstance(env, dict) else None)  # type: ignore[return-value]


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
        "deploy": lambda: service.deploy(*version(p)),
        "restart": service.restart,
        "crash": lambda: service.crash(p.get("replica", 0), p.get("code", 137)),
        "scale": lambda: service.scale(p["replicas"]),
        "pause": lambda: pause(sim.pause),
        "pause_before_poll": lambda: pause(sim.pause_before_next_poll),
        "webhook": lambda: sim.set_webhook(p["url"]),
        "telegram_outage": lambda: sim.telegram_fault(p["seconds"], p.get("status", 429), p.get("retry_after", 5)),
        "endpoint_errors": lambda: service.endpoint_errors(p["seconds"], p.get("status", 502), p.get("replica")),
        "routing_lag": lambda: service.routing_lag(p["seconds"]),
        "slow_handler": lambda: service.slow_handler(p.get("replica", 0), p["seconds"]),
        "rotate_secret": sim.rotate_secret,
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
