"""os.urandom in a simulated process: its own seeded bytes, so a secret drawn per start is reproducible."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import uuid
from pathlib import Path

import pytest

from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation

ROOT = Path(__file__).parents[2]


def draws(seed: int) -> dict[str, tuple[bytes, str, str, int]]:
    seen: dict[str, tuple[bytes, str, str, int]] = {}

    async def entry(ctx: InstanceContext) -> None:
        seen[ctx.name] = (os.urandom(8), secrets.token_urlsafe(16), str(uuid.uuid4()), random.SystemRandom().getrandbits(32))
        await asyncio.sleep(1)

    sim = Simulation(seed=seed, horizon=10)
    sim.at(0, lambda: sim.spawn("a", entry))
    sim.at(1, lambda: sim.spawn("b", entry))
    sim.run()
    return seen


def test_each_process_draws_its_own_bytes_and_every_run_draws_the_same():
    first, again, other = draws(1), draws(1), draws(2)
    assert first == again  # the same run: the same secrets
    assert first["a"] != first["b"]  # a second start draws a new secret, as in production
    assert all(a != b for a, b in zip(first["a"], other["a"], strict=True))  # another seed: other bytes
    assert os.urandom is not None and os.urandom(4) != os.urandom(4)  # outside a run: the real source


def test_a_negative_size_is_refused_as_the_os_refuses_it():
    caught: list[BaseException] = []

    async def entry(ctx: InstanceContext) -> None:
        try:
            os.urandom(-1)
        except ValueError as exc:
            caught.append(exc)

    sim = Simulation(seed=0, horizon=5)
    sim.at(0, lambda: sim.spawn("a", entry))
    sim.run()
    assert [str(e) for e in caught] == ["negative argument not allowed"]


def test_a_bot_with_a_secret_per_start_replays_byte_identical():
    pytest.importorskip("aiogram")
    from simbot.scenario import load, simulate

    s = load(ROOT / "scenarios" / "webhook-secret-per-start-aiogram-heroku_web_preboot.toml")
    first, second = simulate(s), simulate(s)
    assert first.digest() == second.digest()
    assert {e["status"] for e in first.of("webhook") if e.get("event") == "fail"} == {401}  # two secrets
