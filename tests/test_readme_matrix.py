"""The README's two tables are what ``simbot matrix --framework both`` prints (checked on one preset:
the whole matrix takes ~30 s; every cell's machinery is the same)."""

from __future__ import annotations

from pathlib import Path

from simbot import matrix

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
PRESET = "k8s_rolling_1"  # a short overlap: the plain bots fail it, the delay and the locks pass


def test_the_readme_shows_both_frameworks_tables_as_the_matrix_prints_them() -> None:
    printed = matrix.markdown(matrix.rows(framework="both", platforms=[PRESET]))
    headers = [line for line in printed.splitlines() if line.startswith("| preset |")]
    cells = [line for line in printed.splitlines() if line.startswith(f"| {PRESET} |")]
    assert len(headers) == len(cells) == 2
    readme = README.splitlines()
    for line in headers + cells + [matrix.LEGEND]:
        assert line in readme, f"README.md no longer shows what `simbot matrix --framework both` prints:\n{line}"
    # the README's tables are in the order printed: PTB's header, its PRESET line, then aiogram's
    at = [readme.index(line) for line in (headers[0], cells[0], headers[1], cells[1])]
    assert at == sorted(at)
