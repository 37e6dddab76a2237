"""A platform running a bot: replicas, rollouts, stop signals, grace, restarts.

This turns a ``Platform`` (docs/platforms.md §4) into actions on a
``Simulation``: which process starts when, which gets which signal when, when
SIGKILL follows, and whether an exited process comes back.
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from ..sim.process import EntryPoint, Instance
from ..sim.simulation import Simulation
from .edge import Edge
from .model import Platform
from .routing import routing_for

SIGNALS = {"SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}


@dataclass
class Slot:
    """One replica position; its process is replaced by deploys and restarts."""

    index: int
    generation: int
    instance: Instance | None = None
    restarts: int = 0  # consecutive restarts, for the backoff
    restart_times: list[float] = field(default_factory=list)
    retiring: set[str] = field(default_factory=set)  # names the platform is stopping
    replaces: Instance | None = None  # the process this slot's rollout stops first
    host: str | None = None  # the machine its current (or next) process runs on: ``Platform.hosts``


class Service:
    def __init__(self, sim: Simulation, platform: Platform, entry: EntryPoint, *, name: str = "bot",
                 env: dict[str, str] | None = None, public_url: str | None = None):  # fmt: skip
        self.sim = sim
        self.platform = platform
        self.entry = entry
        self.name = name
        self.edge: Edge | None = None
        rule = routing_for(platform.name)
        if rule is not None and public_url is not None:  # the user's own domain (scenario: platform.public_url)
            rule = dataclasses.replace(rule, public_url=public_url)
        if rule is not None:  # a web service: the platform publishes it and routes HTTP to PORT (routing.py)
            self.edge = Edge(sim, rule, name)
            sim.publish(rule.public_url, self.edge)
        self.env = {**(rule.env() if rule is not None else {}), **(env or {})}  # the user's own env wins
        self.generation = 0
        self.versions: dict[int, tuple[EntryPoint, dict[str, str]]] = {}  # generation -> a deploy's new version
        self.slots: list[Slot] = []
        self.stopping: set[str] = set()  # instances the platform itself is stopping
        self._when_gone: dict[str, object] = {}  # what to do once a stopped instance is gone
        self._launches: dict[str, int] = {}  # processes started per name, so every name is unique
        self._containers = 0  # containers made for "per_replica" hosts: bot.c1, bot.c2 …
        self._replica_of: dict[str, int] = {}  # process name -> its replica (slow_handler)
        self._slow: dict[int, float] = {}  # replica -> seconds its next handled update blocks the process
        sim.on_exit.append(self._exited)

    # -- naming and spawning ---------------------------------------------------------

    def _instance_name(self, slot: Slot) -> str:
        """``bot.v<generation>[.<replica>]``, then ``#2``, ``#3`` … for later processes of it."""
        base = f"{self.name}.v{slot.generation}"
        if self.platform.replicas > 1 or slot.index > 0:
            base += f".{slot.index}"
        self._launches[base] = runs = self._launches.get(base, 0) + 1
        return base if runs == 1 else f"{base}#{runs}"

    def _host(self, slot: Slot, name: str) -> str:
        """The machine a new process of ``slot`` runs on (``Platform.hosts``)."""
        if self.platform.hosts == "shared":
            return self.name
        if self.platform.hosts == "per_replica":
            if slot.host is None:  # a restart keeps the container; a deploy's new slot gets a new one
                self._containers += 1
                slot.host = f"{self.name}.c{self._containers}"
            return slot.host
        return name  # a fresh container for every process

    def replica_host(self, index: int) -> str | None:
        """The machine replica ``index`` runs on now (a stray started by hand on it), if it has one."""
        if 0 <= index < len(self.slots):
            return self.slots[index].host
        return None

    def _launch(self, slot: Slot) -> Instance:
        name = self._instance_name(slot)
        slot.host = host = self._host(slot, name)
        entry, env = self.versions.get(slot.generation, (self.entry, self.env))
        instance = self.sim.spawn(name, entry, env=env, host=host)
        slot.instance = instance
        self._replica_of[name] = slot.index
        if self.edge is not None:
            # a rollout's new process waits for its cutover (preboot); a crash's restart just boots
            self.edge.launched(instance, slot.index, replaces=slot.replaces is not None and not slot.restart_times)
        self.sim.at(self.sim.now() + self.platform.readiness_delay, lambda: self._ready(instance))
        return instance

    def _ready(self, instance: Instance) -> None:
        if instance.alive:
            self.sim.record("ready", instance.name)
            if self.edge is not None:
                self.edge.ready(instance)

    # -- platform actions ------------------------------------------------------------

    def start(self) -> None:
        """The first generation: every replica at once."""
        self.generation = 1
        self.slots = [Slot(i, 1) for i in range(self.platform.replicas)]
        self.sim.record("start", None, platform=self.platform.name, replicas=self.platform.replicas)
        for slot in self.slots:
            self._launch(slot)

    def deploy(self, entry: EntryPoint | None = None, env: dict[str, str] | None = None) -> None:
        """Roll out a new generation, one replica at a time, in the platform's order. ``entry``/``env``: a new
        version (another program, variables added to the environment), kept by this generation and every
        later one until the next version; without them the same program is deployed again."""
        self.generation += 1
        if entry is not None or env:
            base_entry, base_env = self.versions.get(self.generation - 1, (self.entry, self.env))
            self.versions[self.generation] = (entry or base_entry, {**base_env, **(env or {})})
        elif self.generation - 1 in self.versions:
            self.versions[self.generation] = self.versions[self.generation - 1]
        self.sim.record("deploy", None, generation=self.generation, order=self.platform.order)
        self._roll(0, self.generation)

    def restart(self) -> None:
        """A restart of the same generation (Heroku daily cycling, `docker restart`, …)."""
        self.sim.record("restart", None, generation=self.generation)
        self._roll(0, self.generation)

    def _roll(self, index: int, generation: int) -> None:
        if index >= len(self.slots) or generation != self.generation:
            return  # done, or superseded by a newer deploy, which rolls every replica itself
        old = self.slots[index]
        # a slot superseded before it launched still owes the stop of the process it replaced
        outgoing = old.instance or old.replaces
        same = self.platform.hosts == "per_replica" and generation == old.generation  # `docker restart`
        new = Slot(index, generation, replaces=outgoing, host=old.host if same else None)
        self.slots[index] = new
        p = self.platform
        after = lambda: self._roll(index + 1, generation)  # noqa: E731
        if p.order == "stop_first":
            def replace() -> None:
                if self.slots[index] is not new:
                    return  # a newer rollout took this replica while the old one was stopping
                self._cutover(index)
                self._launch(new)
                self.sim.at(self.sim.now() + p.readiness_delay + p.min_ready, after)

            self._stop(outgoing, then=replace)
        elif p.order == "simultaneous":
            self._cutover(index)
            self._stop(old.instance)
            self._launch(new)
            self.sim.at(self.sim.now() + p.readiness_delay + p.min_ready, after)
        else:  # start_first: the old one keeps running, unsignalled, through readiness and the hold
            self._launch(new)
            cutover = self.sim.now() + p.startup_window()
            self.sim.at(cutover, lambda: (self._cutover(index), self._stop(old.instance), after()))

    def _cutover(self, index: int) -> None:
        """The platform switches replica ``index`` to the new generation (recorded even if the old is gone)."""
        self.sim.record("cutover", None, replica=index, generation=self.slots[index].generation)
        if self.edge is not None:
            self.edge.cutover(self.slots[index].instance)

    def _stop(self, instance: Instance | None, then=None) -> None:  # type: ignore[no-untyped-def]
        """Stop signal now, SIGKILL after the grace period; ``then`` once it is gone."""
        if instance is None or not instance.alive:
            if then is not None:
                then()
            return
        if then is not None:
            self._when_gone[instance.name] = then  # a newer rollout's wait replaces a superseded one's
        if instance.name in self.stopping:
            return  # already signalled, its SIGKILL already due
        self.stopping.add(instance.name)
        if self.edge is not None:
            self.edge.signalled(instance)
        self.sim.record("stop", instance.name, signal=self.platform.stop_signal, grace=self.platform.grace)
        self.sim.signal(instance, SIGNALS[self.platform.stop_signal])
        self.sim.at(self.sim.now() + self.platform.grace, lambda: self._kill(instance))

    def _kill(self, instance: Instance) -> None:
        if instance.alive:
            self.sim.record("kill", instance.name, reason="grace expired")
            instance.kill()

    def scale(self, replicas: int) -> None:
        """Change the number of replicas: new slots start at once, surplus ones are stopped."""
        self.sim.record("scale", None, replicas=replicas)
        while len(self.slots) < replicas:
            slot = Slot(len(self.slots), self.generation)
            self.slots.append(slot)
            self._launch(slot)
        while len(self.slots) > replicas:
            self._stop(self.slots.pop().instance)

    def crash(self, index: int = 0, code: int = 1) -> None:
        """The process in slot ``index`` dies by itself (OOM, a bug): SIGKILL, then the restart policy."""
        instance = self.slots[index].instance
        if instance is not None and instance.alive:
            self.sim.record("crash", instance.name, code=code)
            instance.kill(code)

    # -- webhook faults (docs/scenarios.md) ------------------------------------------

    def _web_edge(self, kind: str) -> Edge:
        if self.edge is None:  # scenario files refuse this up front (limits.check_routing)
            raise ValueError(f"{kind}: {self.platform.name} routes no HTTP to the bot (a worker, a laptop)")
        return self.edge

    def endpoint_errors(self, seconds: float, status: int, replica: int | None = None) -> None:
        """The platform's edge answers Telegram's POSTs with ``status`` for ``seconds``, reaching no process."""
        edge = self._web_edge("endpoint_errors")
        self.sim.record("endpoint_errors", None, seconds=seconds, status=status,
                        **({} if replica is None else {"replica": replica}))  # fmt: skip
        edge.fail_for(seconds, status, replica)

    def routing_lag(self, seconds: float) -> None:
        """The edge keeps its current routing table for ``seconds`` (edge.py ``Edge.lag``)."""
        routed = self._web_edge("routing_lag").lag(seconds)
        self.sim.record("routing_lag", None, seconds=seconds, to=list(routed))

    def slow_handler(self, index: int, seconds: float) -> None:
        """The next update a process of replica ``index`` handles blocks that process's loop for ``seconds``,
        as a sync call in a handler does (``Instance.busy``, the same as ``time.sleep`` in async code)."""
        self._web_edge("slow_handler")
        self.sim.record("slow_handler_armed", None, replica=index, seconds=seconds)
        if not self._slow and self._handling not in self.sim.on_handled:
            self.sim.on_handled.append(self._handling)
        self._slow[index] = seconds

    def _handling(self, instance: Instance, update_id: int) -> None:
        index = self._replica_of.get(instance.name)
        seconds = self._slow.pop(index, None) if index is not None else None
        if seconds is not None:
            self.sim.record("slow_handler", instance.name, seconds=seconds, update_id=update_id)
            instance.busy(seconds)

    # -- exits and restarts ----------------------------------------------------------

    def _exited(self, instance: Instance) -> None:
        if instance.name in self.stopping:
            then = self._when_gone.pop(instance.name, None)
            if then is not None:
                then()  # type: ignore[operator]
            return
        slot = next((s for s in self.slots if s.instance is instance), None)
        if slot is None:
            return
        p = self.platform
        policy = p.on_exit_zero if instance.exit_code == 0 else p.on_exit_nonzero
        if policy == "stop":
            self.sim.record("stays_down", instance.name, code=instance.exit_code)
            return
        now = self.sim.now()
        up = now - (instance.started_at or now)
        if p.backoff.reset_after_up is not None and up >= p.backoff.reset_after_up:
            slot.restarts = 0
        if p.max_restarts is not None:
            window = [t for t in slot.restart_times if p.restart_window is None or now - t < p.restart_window]
            if len(window) >= p.max_restarts:
                self.sim.record("gave_up", instance.name, restarts=len(window))
                return
        delay = p.backoff.delay(slot.restarts)
        slot.restarts += 1
        slot.restart_times.append(now)
        self.sim.record("restart_scheduled", instance.name, delay=round(delay, 6))
        self.sim.at(now + delay, lambda: self._launch(slot) if slot in self.slots else None)


def stray(sim: Simulation, entry: EntryPoint | str, *, start: float, stop: float | None = None,
          name: str = "stray", host: Callable[[], str | None] | None = None,
          env: dict[str, str] | None = None) -> None:  # fmt: skip
    """A poller outside the platform's control: a developer's laptop, a one-off run, CI.

    It starts at ``start`` and, if ``stop`` is given, gets Ctrl-C (SIGINT) then. With
    ``host`` (asked at the start: ``lambda: service.replica_host(0)``), it runs on that
    machine, next to the replica: a copy started by hand on the VPS sees its files and locks.
    """

    def begin() -> None:
        machine = host() if host is not None else None
        sim.record("stray_start", name, **({"host": machine} if host is not None else {}))
        sim.spawn(name, entry, host=machine, env=env)

    def end() -> None:
        instance = next((i for i in sim.instances if i.name == name and i.alive), None)
        if instance is not None:
            sim.record("stray_stop", name)
            sim.signal(instance, signal.SIGINT)

    sim.at(start, begin)
    if stop is not None:
        sim.at(stop, end)
