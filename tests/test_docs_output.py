"""The output the README and docs/your-bot.md show for `simbot check` is what it prints today.

Each fenced block that starts with ``$ .venv/bin/simbot check tests/bots/…`` is run (in process,
seed 0 as the block's command says); every line of the block other than ``…`` must appear in
stdout and stderr, in order. A doc whose trace digest, timeline or message drifted fails here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from simbot.cli import main

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", ROOT / "docs" / "your-bot.md"]
_BLOCK = re.compile(r"```\n\$ \.venv/bin/simbot (check tests/bots/[^\n]*)\n(.*?)```", re.S)


def examples() -> list[tuple[str, str, list[str]]]:
    found = []
    for doc in DOCS:
        for command, body in _BLOCK.findall(doc.read_text(encoding="utf-8")):
            shown = [line.rstrip() for line in body.splitlines() if line.strip() and line.strip() != "…"]
            found.append((doc.name, command, shown))
    return found


@pytest.mark.parametrize(("doc", "command", "shown"), examples(), ids=lambda v: v if isinstance(v, str) and " " not in v else None)
def test_the_docs_show_what_simbot_check_prints(doc: str, command: str, shown: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    main(shlex.split(command))
    captured = capsys.readouterr()
    printed = [line.rstrip() for line in (captured.err + captured.out).splitlines()]
    at = 0
    for line in shown:
        while at < len(printed) and printed[at] != line:
            at += 1
        assert at < len(printed), f"{doc}: `simbot {command}` no longer prints (in this order):\n{line}"
        at += 1


def test_there_are_examples_to_check() -> None:
    assert len(examples()) >= 5
