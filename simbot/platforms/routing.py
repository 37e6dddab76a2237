"""Which instance of a service gets a webhook POST during a deploy (docs/platforms.md §5.2).

Telegram never talks to an instance: it POSTs to the platform's edge, and the platform
decides who answers. These are the per-preset rules, as pure data and one pure function,
so they can be read and tested without a simulation; ``edge.py`` applies them to a run.

A rule has three parts:

* ``enter``: when a process becomes routable. ``listening`` — once it holds its port
  (Render's port detection, Heroku's boot, Fly); ``ready`` — at the platform's readiness
  (Kubernetes without a readinessProbe: the container started, maybe before it listens,
  so early POSTs meet a closed port and the edge answers 502); ``cutover`` — when the
  platform switches the replica to it (Heroku preboot, Railway's overlap end). The first
  generation of a service has nobody to replace: it enters when it listens.
* ``leave``: when an old process stops getting new POSTs. ``switch`` — the same instant a
  newer process of its replica becomes routable (Render, Heroku preboot); ``signal`` — when
  the platform signals it, plus ``endpoint_lag`` (Kubernetes removes the endpoint
  concurrently with SIGTERM, and kube-proxy/ingress see it a little later).
* the edge's own answers: ``no_target`` when nobody is routable, ``bad_gateway`` when the
  routed process refuses or resets the connection, and ``proxy_timeout`` (Heroku's 30 s
  router limit, H12) after which the edge gives up on a slow answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

Enter = Literal["listening", "ready", "cutover"]
Leave = Literal["switch", "signal"]


@dataclass(frozen=True, slots=True)
class Routing:
    enter: Enter
    leave: Leave
    public_url: str  # where the platform publishes the service (https, the platform's domain)
    port: int  # the PORT the platform gives each process and forwards to
    endpoint_lag: float = 0.0  # seconds from the signal until the edge stops routing ("signal" only)
    no_target: tuple[int, str] = (503, "Service Unavailable")
    bad_gateway: tuple[int, str] = (502, "Bad Gateway")
    proxy_timeout: float | None = None
    native_env: tuple[tuple[str, str], ...] = ()  # what the platform itself sets, beyond PORT
    source: str = ""

    def env(self) -> dict[str, str]:
        """Each process's environment: PORT, the platform's own variables, and the public URL under the
        names bots read it by (set by the user in the dashboard: BASE_WEBHOOK_URL, WEBHOOK_URL)."""
        return {"PORT": str(self.port), **dict(self.native_env),
                "BASE_WEBHOOK_URL": self.public_url, "WEBHOOK_URL": self.public_url}  # fmt: skip


@dataclass(slots=True)
class Target:
    """What the edge knows of one process of the service."""

    name: str
    order: int  # launch order: a later process of the same replica is newer
    replica: int
    replaces: bool  # it was started to replace another process (a deploy or restart), not the first start
    alive: bool = True
    ready: bool = False  # the platform's readiness event has passed
    listening: bool = False  # it holds the routed port now
    cut_over: bool = False  # the platform switched its replica to it
    signalled_at: float | None = None
    superseded: bool = False  # a newer process of its replica took the traffic ("switch": for good)


def entered(t: Target, rule: Routing, now: float) -> bool:
    """Whether ``t`` is in the routing set by the ``enter`` rule (ignoring ``leave``). A dead process is
    out, except one the platform signalled while its endpoint is still being removed ("signal" rules:
    its POSTs meet a closed port, and the edge answers 502)."""
    if not t.alive:
        lagging = (
            rule.leave == "signal" and t.signalled_at is not None and now < t.signalled_at + rule.endpoint_lag
        )
        return lagging and (rule.enter != "ready" or t.ready)
    if rule.enter == "ready":
        return t.ready
    if rule.enter == "cutover" and t.replaces:
        return t.cut_over
    return t.listening


def routable(targets: list[Target], rule: Routing, now: float) -> list[Target]:
    """The processes the edge may send a new POST to at ``now``, oldest first.

    With ``leave = "switch"`` the first time a newer process of a replica enters, every older one
    of that replica is marked superseded (it never gets traffic again, whether it is still running
    its hold or not)."""
    if rule.leave == "switch":
        for t in targets:
            if entered(t, rule, now):
                for old in targets:
                    if old.replica == t.replica and old.order < t.order:
                        old.superseded = True
    out = []
    for t in sorted(targets, key=lambda x: x.order):
        if not entered(t, rule, now) or t.superseded:
            continue
        if (
            rule.leave == "signal"
            and t.signalled_at is not None
            and now >= t.signalled_at + rule.endpoint_lag
        ):
            continue
        out.append(t)
    return out


def choose(ready: list[Target], rng: random.Random) -> Target | None:
    """One routable process, chosen at random among several (kube-proxy, a load balancer); None: nobody."""
    if not ready:
        return None
    return ready[0] if len(ready) == 1 else ready[rng.randrange(len(ready))]


K8S_LAG = 1.0  # (I) kube-proxy/ingress sync after the endpoint is removed: 0..30 s in §3, 1 s taken

ROUTING: dict[str, Routing] = {
    "render_web": Routing(
        "listening",
        "switch",
        "https://bot.onrender.com",
        10000,
        native_env=(("RENDER_EXTERNAL_URL", "https://bot.onrender.com"),),
        source="D: new gets traffic once its port is bound (no health-check path); old stops at "
        "the switch; SIGTERM 60 s later (the preset's hold); PORT 10000",
    ),
    "heroku_web_preboot": Routing(
        "cutover",
        "switch",
        "https://bot.herokuapp.com",
        5000,
        proxy_timeout=30.0,
        no_target=(503, "Service Unavailable"),
        bad_gateway=(503, "Service Unavailable"),
        source="D: the router switches at the end of preboot and stops routing to the old "
        "dynos at the same instant; router timeout 30 s (H12 503); PORT value (I)",
    ),
    "heroku_restart": Routing(
        "listening",
        "signal",
        "https://bot.herokuapp.com",
        5000,
        proxy_timeout=30.0,
        bad_gateway=(503, "Service Unavailable"),
        source="D/U: SIGTERM to old and boot of new together; 503 while nobody is bound (U: "
        "held or 503, 503 taken); router timeout 30 s",
    ),
    "k8s_rolling_1": Routing(
        "ready",
        "signal",
        "https://bot.example.com",
        8080,
        endpoint_lag=K8S_LAG,
        source="D: no readinessProbe: Ready at container start, maybe before listen (502); "
        "endpoint removal concurrent with SIGTERM, lag 1 s (I)",
    ),
    "k8s_recreate": Routing(
        "ready",
        "signal",
        "https://bot.example.com",
        8080,
        endpoint_lag=K8S_LAG,
        source="D: as k8s_rolling_1; stop-first, so a gap (503) between the pods",
    ),
    "railway_2025": Routing(
        "cutover",
        "switch",
        "https://bot.up.railway.app",
        8080,
        native_env=(("RAILWAY_PUBLIC_DOMAIN", "bot.up.railway.app"),),
        source="R: new gets requests at the overlap end, when old gets SIGTERM",
    ),
    "railway_legacy": Routing(
        "cutover",
        "switch",
        "https://bot.up.railway.app",
        8080,
        native_env=(("RAILWAY_PUBLIC_DOMAIN", "bot.up.railway.app"),),
        source="R: as railway_2025, overlap 20 s",
    ),
    "fly_rolling_1": Routing(
        "listening",
        "signal",
        "https://bot.fly.dev",
        8080,
        source="D/I: routed once started and listening; stop-first; proxy status when "
        "nobody is routable unknown (503 taken)",
    ),
    "fly_launch_default": Routing(
        "listening", "signal", "https://bot.fly.dev", 8080, source="D/I: as fly_rolling_1, two Machines"
    ),
    "ecs_default": Routing(
        "ready",
        "signal",
        "https://bot.example.com",
        8080,
        source="I: ALB routes after readiness (health check), deregisters at the stop "
        "(draining before SIGTERM not modelled)",
    ),
    "compose_recreate": Routing(
        "listening",
        "signal",
        "https://bot.example.com",
        8080,
        source="I: a reverse proxy that resolves the service name per request; "
        "stop-first: 502/503 in the gap",
    ),
    "docker_always": Routing(
        "listening", "signal", "https://bot.example.com", 8080, source="I: as compose_recreate"
    ),
    "systemd_default": Routing(
        "listening",
        "signal",
        "https://bot.example.com",
        8080,
        source="I: nginx on the same host proxies to the port",
    ),
}
# render_worker and local_dev_stray have no HTTP routing: a worker gets no traffic, a laptop no public URL.


def routing_for(preset: str) -> Routing | None:
    return ROUTING.get(preset)
