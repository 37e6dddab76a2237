"""Explore and webhook faults: drawn for a bot that serves webhooks, never for one that polls."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.control import BuildContext
from hypothesis.internal.conjecture.data import ConjectureData

from simbot.cli import main
from simbot.explore import (
    DEFAULT_FAULTS,
    EXTRA_FAULTS,
    WEBHOOK_EXTRA_FAULTS,
    WEBHOOK_FAULTS,
    explore,
    scenarios,
)
from simbot.explore.search import fault_set, plain_start, serves_webhooks
from simbot.scenario import Bot, Scenario, simulate, to_toml
from tests.checking.ready import needs_program

BOTS = Path(__file__).parents[1] / "bots"
WEB = DEFAULT_FAULTS + WEBHOOK_FAULTS


def test_a_polling_bot_draws_exactly_what_it_drew_before_webhook_faults_existed():
    # Choice sequences hypothesis made before webhook faults existed (commit c7f3243), with the sha256 of the
    # scenario file each gave and of each choice's constraints (a sampled_from of more kinds has a wider
    # range even where the recorded index still picks the same kind). Replayed choice by choice, so
    # hypothesis' pool of constants (collected from every loaded module, so changed by any code edit)
    # plays no part: the strategy itself is what is compared.
    recorded = json.loads((Path(__file__).parent / "polling_draws.json").read_text())
    differs = []
    for r in recorded:
        faults = DEFAULT_FAULTS if r["faults"] == "default" else DEFAULT_FAULTS + EXTRA_FAULTS
        data = ConjectureData.for_choices(r["choices"])
        with BuildContext(data, wrapped_test=lambda: None):
            s = data.draw(scenarios(r["platform"], Bot(policy="naive"), faults, schedules=r["schedules"]))
        shape = repr([(n.type, sorted(n.constraints.items())) for n in data.nodes])
        if (hashlib.sha256(to_toml(s).encode()).hexdigest(), hashlib.sha256(shape.encode()).hexdigest()) != (
                r["sha256"], r["shape"]):
            differs.append((r["platform"], r["faults"], r["schedules"]))
    assert len(recorded) == 96 and not differs


def test_a_webhook_bot_draws_the_webhook_faults_within_their_bounds_and_no_rotation_unless_asked():
    kinds: set[str] = set()

    @settings(max_examples=80, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(scenarios("k8s_rolling_1", Bot(policy="naive"), WEB))
    def draw(s: Scenario) -> None:
        for e in s.events:
            kinds.add(e.kind)
            if e.kind == "endpoint_errors":
                assert 1 <= e.params["seconds"] <= 60 and e.params["status"] in (500, 502, 503)
            elif e.kind == "slow_handler":
                assert 1 <= e.params["seconds"] <= 120 and e.params["replica"] == 0
            elif e.kind == "routing_lag":
                assert 1 <= e.params["seconds"] <= 60
            assert e.at + e.params.get("seconds", 0) + 150 <= s.horizon  # time to settle after the fault

    draw()
    assert set(WEBHOOK_FAULTS) <= kinds and "rotate_secret" not in kinds


def test_the_default_faults_grow_only_for_a_bot_that_serves_webhooks():
    assert fault_set(None, webhook=False) == DEFAULT_FAULTS
    assert fault_set(None, webhook=True) == DEFAULT_FAULTS + WEBHOOK_FAULTS
    assert fault_set(("deploy", "rotate_secret"), webhook=True) == ("deploy", "rotate_secret")
    assert "slow_handler" not in fault_set(None, webhook=True)  # the bot's own code: asked for, not assumed
    with pytest.raises(ValueError, match="faults: slow_handler, rotate_secret act on webhook POSTs, and this bot answered none"):
        fault_set(("deploy", *WEBHOOK_EXTRA_FAULTS), webhook=False)
    with pytest.raises(ValueError, match="faults: endpoint_errors need a preset that routes HTTP to the bot; render_worker"):
        scenarios("render_worker", Bot(policy="naive"), ("deploy", "endpoint_errors"))


@needs_program
def test_a_plain_start_tells_a_webhook_bot_from_a_poller():
    pytest.importorskip("aiogram")
    script = str(BOTS / "aiogram_webhook" / "bot.py")
    assert serves_webhooks(simulate(plain_start(Bot(script=script), "render_web")))
    # a webhook set on a host outside the run: POSTs are made, none answered
    elsewhere = simulate(plain_start(Bot(script=script, env={"BASE_WEBHOOK_URL": "https://aiogram.dev"}), "render_web"))
    assert elsewhere.of("webhook") and not serves_webhooks(elsewhere)
    assert not serves_webhooks(simulate(plain_start(Bot(policy="naive"), "render_web")))


def test_webhook_faults_for_a_polling_bot_exit_2_naming_the_faults(capsys: pytest.CaptureFixture[str]):
    argv = ["explore", "--policy", "naive", "--platform", "render_web", "--examples", "1", "--faults", "deploy,slow_handler"]
    assert main(argv) == 2
    assert "--faults: slow_handler act on webhook POSTs" in capsys.readouterr().err


@needs_program
def test_explore_finds_a_slow_handler_duplicate_and_shrinks_it_to_one_block_past_telegrams_60_s():
    pytest.importorskip("telegram")
    found = explore(Bot(script=str(BOTS / "ptb_webhook" / "bot.py")), "render_web", examples=3, seed=1,
                    faults=("slow_handler",), schedules="fifo")  # fmt: skip
    s = found.counterexample
    assert s is not None and found.failed() == ["duplicates"]
    [slow] = s.events[1:]
    assert slow.kind == "slow_handler" and 60 < slow.params["seconds"] <= 120  # below 60 s Telegram just waits


@needs_program
def test_explore_finds_the_deaf_bot_of_a_delete_on_shutdown_and_stays_quiet_for_the_example():
    pytest.importorskip("aiogram")
    faults = ("deploy", "endpoint_errors", "routing_lag")
    deaf = explore(Bot(script=str(BOTS / "aiogram_webhook_delete" / "bot.py")), "render_web", examples=5, seed=0,
                   faults=faults, schedules="fifo")  # fmt: skip
    assert deaf.counterexample is not None and [e.kind for e in deaf.counterexample.events] == ["start", "deploy"]
    assert "liveness" in deaf.failed()
    quiet = explore(Bot(script=str(BOTS / "aiogram_webhook" / "bot.py")), "render_web", examples=10, seed=0,
                    faults=faults, schedules="fifo")  # fmt: skip
    assert not quiet.found and quiet.run == 10
