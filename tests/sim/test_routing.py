"""The platforms' webhook routing rules, without a simulation (simbot/platforms/routing.py)."""

from __future__ import annotations

import random

from simbot.platforms.routing import ROUTING, Target, choose, routable


def names(targets: list[Target], preset: str, now: float) -> list[str]:
    return [t.name for t in routable(targets, ROUTING[preset], now)]


def test_render_routes_to_the_new_instance_once_its_port_is_bound_and_never_back():
    old = Target("v1", 1, 0, replaces=False, ready=True, listening=True)
    new = Target("v2", 2, 0, replaces=True, ready=True, listening=False)
    assert names([old, new], "render_web", 61.0) == ["v1"]  # ready, but its port is not bound yet
    new.listening = True
    assert names([old, new], "render_web", 62.0) == ["v2"]  # the switch: old stops at the same instant
    new.listening = False  # a blip of the new one does not send traffic back to the old (still in its hold)
    assert names([old, new], "render_web", 63.0) == []


def test_kubernetes_without_a_probe_routes_at_readiness_before_the_port_is_bound():
    new = Target("v2", 2, 0, replaces=True, ready=True, listening=False)
    assert names([new], "k8s_rolling_1", 60.5) == ["v2"]  # Ready at container start: POSTs meet a closed port


def test_kubernetes_removes_the_endpoint_at_the_signal_plus_its_lag_even_after_the_exit():
    lag = ROUTING["k8s_rolling_1"].endpoint_lag
    old = Target("v1", 1, 0, replaces=False, ready=True, listening=True, signalled_at=60.5)
    new = Target("v2", 2, 0, replaces=True, ready=True, listening=True)
    assert names([old, new], "k8s_rolling_1", 60.0) == ["v1", "v2"]  # both Ready: kube-proxy picks one
    old.alive = old.listening = False  # the process exited at once on SIGTERM
    assert names([old, new], "k8s_rolling_1", 60.5 + lag / 2) == ["v1", "v2"]  # the endpoint is still there
    assert names([old, new], "k8s_rolling_1", 60.5 + lag) == ["v2"]


def test_heroku_preboot_switches_at_the_cutover_not_when_the_new_dyno_listens():
    old = Target("v1", 1, 0, replaces=False, ready=True, listening=True)
    new = Target("v2", 2, 0, replaces=True, ready=True, listening=True)
    assert names([old, new], "heroku_web_preboot", 100.0) == ["v1"]
    new.cut_over = True
    assert names([old, new], "heroku_web_preboot", 272.0) == ["v2"]  # and the old stops at that instant


def test_a_first_start_or_a_restart_enters_when_it_listens_even_on_a_cutover_rule():
    first = Target("v1", 1, 0, replaces=False, ready=True, listening=True)
    assert names([first], "heroku_web_preboot", 1.0) == ["v1"]


def test_several_routable_instances_are_picked_by_the_seeded_generator():
    ready = [Target(f"v{i}", i, i, replaces=False, ready=True, listening=True) for i in range(3)]
    picks = [choose(ready, random.Random("seed")).name for _ in range(1)]
    again = [choose(ready, random.Random("seed")).name for _ in range(1)]
    assert picks == again
    assert choose([], random.Random(0)) is None
