"""The reference verdicts: each corpus bot's logic through today's contract (``equivalents/*.toml``).

``simbot check`` on a corpus bot as written must reach the verdict its equivalent reaches here
(tests/bots/README.md has the table). Regenerate the files with
``.venv/bin/python -m tests.bots.equivalents.generate`` when the machinery changes on purpose.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simbot.scenario.files import load
from simbot.scenario.run import mismatches, replay

FILES = sorted((Path(__file__).parent / "equivalents").glob("*.toml"))


def test_every_equivalent_has_a_file_per_platform() -> None:
    from tests.bots.equivalents.generate import EQUIVALENTS, PLATFORMS

    assert [f.stem for f in FILES] == sorted(f"{stem}--{p}" for stem in EQUIVALENTS for p in PLATFORMS)


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_the_equivalent_gets_its_recorded_verdict(path: Path) -> None:
    scenario = load(path)
    assert scenario.expect.get("status"), f"{path.name}: [expect] must record the status"
    _, verdict, _ = replay(scenario)
    assert mismatches(verdict, scenario.expect) == [], verdict
