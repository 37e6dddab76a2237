"""The webhook policies (``webhook``, ``aiogram-webhook``): explore finds nothing on any web preset, the
examples pass as written, and each safety rule, taken out, fails a scenario (tests/startup/webhook_mutants.py).

The rule-removal scenarios were found by ``simbot explore`` on the mutants and shrunk; they are pinned here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from simbot.check import judge
from simbot.check.verdict import Verdict
from simbot.explore import explore
from simbot.matrix import deploy_scenario
from simbot.platforms.routing import ROUTING
from simbot.scenario import Bot, Event, Scenario, Updates, simulate
from simbot.sim.schedule import Schedule
from simbot.sim.trace import Trace
from simbot.startup import policy
from tests.checking.ready import needs_program

pytest.importorskip("aiogram")
import tests.startup.webhook_mutants  # noqa: F401  aiogram imported at collection, not inside a run's watchdog

ROOT = Path(__file__).parents[2]
POLICIES = {"ptb": "webhook", "aiogram": "aiogram-webhook"}
EXPLORE_EXAMPLES = 4  # per preset and framework in the suite: a regression guard; the hand runs used 200 (docs/startup.md),
# which with the webhook faults find the slow-handler duplicate of scenarios/webhook-policy-slow-handler-*.toml


def mutant(name: str, framework: str) -> Bot:
    return Bot(entry=f"tests.startup.webhook_mutants:{name}_{framework}")


def run(bot: Bot, s: Scenario) -> tuple[Trace, Verdict]:
    trace = simulate(replace(s, bot=bot))
    return trace, judge(trace)


def webhook_steps(trace: Trace, event: str) -> list[dict[str, Any]]:
    return [e for e in trace.of("webhook") if e.get("event") == event]


# -- explore: nothing found on any preset that routes HTTP -------------------------------------------------------


@pytest.mark.parametrize("framework", sorted(POLICIES))
@pytest.mark.parametrize("platform", sorted(ROUTING))
def test_explore_finds_nothing_on_every_web_preset(platform: str, framework: str) -> None:
    found = explore(Bot(policy=POLICIES[framework]), platform, examples=EXPLORE_EXAMPLES, seed=0)
    assert found.cannot_start is None, found.cannot_start.describe()
    assert not found.found, found.verdict.describe() if found.verdict else ""
    assert found.run == EXPLORE_EXAMPLES


# -- the examples, unmodified --------------------------------------------------------------------------------------


@needs_program
@pytest.mark.parametrize("platform", ["render_web", "k8s_rolling_1", "heroku_web_preboot"])
@pytest.mark.parametrize("example", ["webhook_ptb_bot", "webhook_aiogram_bot"])
def test_the_examples_deploy_as_written_with_nothing_lost_or_twice(example: str, platform: str) -> None:
    script = ROOT / "docs" / "examples" / f"{example}.py"
    bot = Bot(script=str(script), env={"WEBHOOK_SECRET": "set-once-in-the-dashboard"})
    trace = simulate(deploy_scenario(bot, platform))
    verdict = judge(trace)
    assert verdict.status == "PASS", verdict.describe()
    u = verdict.metrics["updates"]
    assert (u["lost"], u["duplicates"]) == (0, 0) and u["received"] == u["pushed"] > 10
    sets = [r for r in trace.of("request") if r["method"] == "setWebhook"]
    assert sets[0]["params"]["url"].endswith("/telegram" if "ptb" in example else "/webhook")
    assert {r["description"] for r in sets[1:]} <= {"Webhook is already set"}  # every later start: a no-op
    assert not [r for r in trace.of("request") if r["method"] == "deleteWebhook"]


@needs_program
def test_an_example_without_its_secret_is_an_error_naming_the_variable() -> None:
    script = ROOT / "docs" / "examples" / "webhook_ptb_bot.py"
    verdict = judge(simulate(deploy_scenario(Bot(script=str(script)), "render_web")))
    assert verdict.status == "ERROR"
    assert "WEBHOOK_SECRET" in verdict.describe()


# -- rule removal: each rule, taken out, fails ---------------------------------------------------------------------

DEPLOY_IN_A_GAP = Scenario(seed=0, horizon=180.0, platform="compose_recreate", bot=Bot(policy="naive"),
                           events=(Event(0.0, "start"), Event(15.0, "deploy")),
                           updates=Updates(start=5.0, every=10.0))  # fmt: skip
FROZEN_AFTER_A_CRASH = Scenario(
    seed=0, horizon=440.0, platform="heroku_web_preboot", bot=Bot(policy="naive"),
    events=(Event(0.0, "start"), Event(10.0, "crash", {"replica": 0, "code": 137}),
            Event(15.0, "pause", {"replica": 0, "seconds": 30.0})),
    updates=Updates(start=5.0, every=10.0),
)  # fmt: skip
PREBOOT_DEPLOY = Scenario(seed=0, horizon=490.0, platform="heroku_web_preboot", bot=Bot(policy="naive"),
                          events=(Event(0.0, "start"), Event(95.0, "deploy")),
                          updates=Updates(start=5.0, every=10.0))  # fmt: skip


@pytest.mark.parametrize("framework", sorted(POLICIES))
def test_dropping_pending_updates_at_start_loses_what_came_during_a_stop_first_gap(framework: str) -> None:
    _, kept = run(Bot(policy=POLICIES[framework]), DEPLOY_IN_A_GAP)
    _, dropped = run(mutant("drop", framework), DEPLOY_IN_A_GAP)
    assert kept.status == "PASS", kept.describe()
    assert dropped.outcome("lost_updates") == "fail", dropped.describe()
    assert dropped.metrics["updates"]["lost"] == 1  # the update of 15 s, queued while nobody listened


@pytest.mark.parametrize("framework", sorted(POLICIES))
def test_deleting_the_webhook_on_shutdown_leaves_the_new_instance_deaf(framework: str) -> None:
    s = deploy_scenario(Bot(policy="naive"), "render_web")
    _, kept = run(Bot(policy=POLICIES[framework]), s)
    _, deleted = run(mutant("delete", framework), s)
    assert kept.status == "PASS", kept.describe()
    assert deleted.outcome("liveness") == deleted.outcome("lost_updates") == "fail", deleted.describe()
    assert deleted.metrics["webhook"]["deaf"] > 100


@pytest.mark.parametrize("framework", sorted(POLICIES))
def test_a_secret_made_per_start_locks_telegram_out_of_the_old_instance_until_the_switch(framework: str) -> None:
    s = PREBOOT_DEPLOY
    _, kept = run(Bot(policy=POLICIES[framework]), s)
    trace, changed = run(mutant("new_secret", framework), s)
    assert kept.status == "PASS" and kept.metrics["webhook"]["deaf"] == 0, kept.describe()
    refused = {e["status"] for e in webhook_steps(trace, "fail")}
    assert refused == {403 if framework == "ptb" else 401}  # the old dyno, still routed, has the old secret
    assert changed.metrics["webhook"]["deaf"] > 200  # Heroku switches after its preboot hold; backoff to 64 s steps


def test_a_secret_made_per_start_can_also_handle_an_update_twice() -> None:
    """Found by explore (PCT): the new setWebhook cuts a POST the old dyno had taken; Telegram re-sends it."""
    s = replace(PREBOOT_DEPLOY, schedule=Schedule(deviations=((137, 1),)))
    _, kept = run(Bot(policy="webhook"), s)
    _, changed = run(mutant("new_secret", "ptb"), s)
    assert kept.status == "PASS", kept.describe()
    assert changed.outcome("duplicates") == "fail", changed.describe()


@pytest.mark.parametrize("framework", sorted(POLICIES))
def test_a_429_on_set_webhook_is_waited_out_not_a_crash(framework: str) -> None:
    """Two Fly Machines start at once: the second setWebhook within 1 s gets 429. The harness shows no lost or
    duplicated update either way (Fly restarts the crashed process, whose set is then a no-op: webhook case W7);
    the rule saves a crash and a restart (and a platform's restart backoff)."""
    s = deploy_scenario(Bot(policy="naive"), "fly_launch_default")
    kept_trace, kept = run(Bot(policy=POLICIES[framework]), s)
    trace, crashed = run(mutant("set_always", framework), s)
    for t in (kept_trace, trace):
        assert [r["status"] for r in t.of("request") if r["method"] == "setWebhook"][:2] == [200, 429]
    assert [e["code"] for e in kept_trace.of("exit") if e["code"] != 0] == []
    assert [e["code"] for e in trace.of("exit") if e["code"] != 0] == [1]
    assert kept.status == crashed.status == "PASS"


@pytest.mark.parametrize("framework", sorted(POLICIES))
def test_without_update_ids_a_frozen_process_handles_a_resent_update_twice(framework: str) -> None:
    """Heroku's router gives up after 30 s (503) on a frozen dyno; Telegram re-sends at once, to the same
    dyno, which then handles both copies."""
    _, kept = run(Bot(policy=POLICIES[framework]), FROZEN_AFTER_A_CRASH)
    trace, forgot = run(mutant("forgets", framework), FROZEN_AFTER_A_CRASH)
    assert kept.status == "PASS", kept.describe()
    assert forgot.outcome("duplicates") == "fail", forgot.describe()
    assert 503 in {e["status"] for e in webhook_steps(trace, "fail")}


def test_aiogram_handlers_of_accepted_updates_finish_after_sigterm() -> None:
    """aiogram answers 200 and handles in a background task; run_app would cancel it at exit. The update of
    45 s takes 20 s to handle; SIGTERM comes at 52 s (k8s Recreate, grace 30 s)."""
    s = Scenario(seed=0, horizon=200.0, platform="k8s_recreate", bot=Bot(policy="naive"),
                 events=(Event(0.0, "start"), Event(52.0, "deploy")), updates=Updates(start=5.0, every=10.0))  # fmt: skip

    def replies(trace: Trace) -> list[tuple[float, str]]:
        return [(r["t"], r["instance"]) for r in trace.of("request") if r["method"] == "sendMessage"]

    drained, _ = run(mutant("slow", "aiogram"), s)
    cancelled, _ = run(mutant("slow_no_drain", "aiogram"), s)
    assert (65.0, "bot.v1") in replies(drained)  # 45 s + 20 s, after the signal, before the process ends
    assert not [r for r in replies(cancelled) if r[1] == "bot.v1" and r[0] > 52]
    assert [e["t"] for e in drained.of("exit") if e["instance"] == "bot.v1"] == [65.0]


def test_aiogram_refuses_a_post_read_after_sigterm_that_telegram_already_resent() -> None:
    """Found by explore on heroku_restart: the dyno frozen from 10 s to 45 s holds the POST of 15 s; the deploy
    at 20 s signals it and boots the new one; at 45 s the router answers 503 and Telegram re-sends to the new
    dyno, while the old one wakes and reads the POST still on its keep-alive connection."""
    s = Scenario(seed=0, horizon=230.0, platform="heroku_restart", bot=Bot(policy="naive"),
                 events=(Event(0.0, "start"), Event(10.0, "pause", {"replica": 0, "seconds": 35.0}),
                         Event(20.0, "deploy")),
                 updates=Updates(start=5.0, every=10.0))  # fmt: skip
    _, kept = run(Bot(policy="aiogram-webhook"), s)
    _, taken = run(mutant("takes_posts_when_stopping", "aiogram"), s)
    assert kept.status == "PASS", kept.describe()
    assert taken.outcome("duplicates") == "fail", taken.describe()
    assert "received by bot.v1 and again by bot.v2" in taken.describe()


@needs_program
@pytest.mark.parametrize("example", ["ptb_webhook", "aiogram_webhook"])
def test_the_plain_webhook_bots_handle_that_resent_update_twice(example: str) -> None:
    """The same scenario, found by explore (200 examples) on each framework's webhook example as written."""
    plain = Bot(script=str(ROOT / "tests" / "bots" / example / "bot.py"))
    _, verdict = run(plain, FROZEN_AFTER_A_CRASH)
    assert verdict.outcome("duplicates") == "fail", verdict.describe()
    assert verdict.metrics["replies"]["answered_twice"], verdict.describe()  # the user got two replies


# -- setWebhook's retries and the memory of update ids, on a virtual clock ---------------------------------------


def test_set_webhook_waits_out_a_429_capped_and_retries_other_errors_with_doubling_waits() -> None:
    import asyncio

    from simbot.sim import run as virtual
    from simbot.startup.webhook import Throttled, WebhookPolicy

    answers: list[BaseException | None] = [Throttled(90), RuntimeError("502"), RuntimeError("502"), Throttled(1), None]
    calls: list[float] = []

    async def main() -> bool:
        loop = asyncio.get_running_loop()

        async def write() -> None:
            calls.append(loop.time())
            answer = answers.pop(0)
            if answer is not None:
                raise answer

        return await WebhookPolicy(max_wait=30).ensure("https://x/telegram", write, asyncio.Event())

    assert virtual(main()) is True
    assert calls == [0, 30, 31, 33, 34]  # 90 s capped at max_wait; 1 s, then 2 s; the 429's own 1 s


def test_a_stop_signal_ends_the_retries() -> None:
    import asyncio

    from simbot.sim import run as virtual
    from simbot.startup.webhook import WebhookPolicy

    async def main() -> bool:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(5, stop.set)

        async def write() -> None:
            raise RuntimeError("Telegram is down")

        return await WebhookPolicy().ensure("https://x/telegram", write, stop)

    assert virtual(main()) is False


def test_the_memory_of_update_ids_is_bounded_and_forgets_the_oldest() -> None:
    from simbot.startup.webhook import Seen

    seen = Seen(2)
    assert [seen.first_time(i) for i in (1, 2, 1, 3, 1)] == [True, True, False, True, True]


# -- parameters ----------------------------------------------------------------------------------------------------


def test_the_policies_say_what_is_missing_or_wrong() -> None:
    with pytest.raises(ValueError, match="policy 'webhook': port: expected an integer at least 1 and at most 65535"):
        policy("webhook", port=0)
    from simbot.startup.webhook import WebhookPolicy

    with pytest.raises(ValueError, match="no URL: set WEBHOOK_URL"):
        WebhookPolicy(secret="s").settings()
    with pytest.raises(ValueError, match="no secret: set WEBHOOK_SECRET"):
        WebhookPolicy(url="https://bot.example.com").settings()
    with pytest.raises(ValueError, match="1-256 characters"):
        WebhookPolicy(url="https://bot.example.com", secret="not secret!").settings()
    s = WebhookPolicy(url="https://bot.example.com/", secret="s-1", port=8080).settings()
    assert (s.url, s.listen, s.port, s.path) == ("https://bot.example.com/telegram", "0.0.0.0", 8080, "/telegram")
