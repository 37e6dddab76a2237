"""``simbot explore --redis``: the bot's Redis is on the network of every run the search makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings

from simbot.cli import main
from simbot.explore.command import command_line
from simbot.explore.strategies import scenarios
from simbot.scenario import Bot, Scenario

LOCK_BOT = Path(__file__).parents[2] / "docs" / "examples" / "practices" / "redis_lock" / "ptb_bot.py"


@settings(max_examples=5, database=None)
@given(scenarios("render_worker", Bot(policy="naive"), services=("redis",)))
def test_every_drawn_scenario_has_the_service(scenario: Scenario) -> None:
    assert scenario.services == ("redis",)


@pytest.mark.parametrize(("redis", "code"), [(False, 3), (True, 0)])
def test_a_bot_that_needs_redis_starts_only_with_it(tmp_path: Path, redis: bool, code: int,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """Without the service the lock bot is refused a connection at its first line: it cannot start (exit 3)."""
    args = ["explore", "--bot", str(LOCK_BOT), "--platform", "k8s_recreate", "--examples", "4", "--faults", "deploy",
            "--out", str(tmp_path), *(["--redis"] if redis else [])]  # fmt: skip
    assert main(args) == code
    out = capsys.readouterr().out
    assert ("found no counterexample after 4 simulations" in out) == redis


def test_the_search_again_line_keeps_redis() -> None:
    assert command_line(None, "render_worker", 100, 0, target="bot.py", redis=True).endswith(" --redis")
    assert "--redis" not in command_line(None, "render_worker", 100, 0, target="bot.py")
