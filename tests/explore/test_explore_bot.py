"""``simbot explore --bot TARGET``: the user's bot searched like a policy."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from simbot.cli import main


def test_explore_takes_a_bot_target_and_its_env_and_says_how_to_search_again(tmp_path: Path, capsys):
    code = main(["explore", "--bot", "simbot.drivers.ptb:naive", "--env", "MODE=test", "--platform", "k8s_rolling_1",
                 "--examples", "3", "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1  # PTB's defaults poll twice on a rolling update
    assert "search again: simbot explore --bot=simbot.drivers.ptb:naive --platform k8s_rolling_1 --examples 3 " \
           "--seed 0 --env=MODE=test" in out  # fmt: skip
    [written] = tmp_path.iterdir()
    assert tomllib.loads(written.read_text())["bot"] == {"entry": "simbot.drivers.ptb:naive", "env": {"MODE": "test"}}
    assert main(["replay", str(written)]) == 0  # the file states the verdict it has


@pytest.mark.parametrize(("argv", "message"), [
    (["--bot", "no_such_bot.py"], "simbot explore: --bot: the bot's script, a file;"),
    (["--bot", "tests.checking.bots.shapes:needs_args"], "simbot explore: --bot: a function callable without"),
    (["--policy", "naive", "--env", "X"], "simbot explore: --env: NAME=VALUE, got 'X'"),
])  # fmt: skip
def test_a_bad_bot_exits_2_naming_the_argument(capsys, argv: list[str], message: str):
    assert main(["explore", *argv, "--platform", "k8s_rolling_1", "--examples", "1"]) == 2
    assert message in capsys.readouterr().err


def test_policy_and_bot_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["explore", "--policy", "naive", "--bot", "bot.py", "--platform", "k8s_rolling_1"])
    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
