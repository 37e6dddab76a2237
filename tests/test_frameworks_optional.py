"""simbot with only one framework installed: aiogram alone, or python-telegram-bot alone.

Each case runs in a subprocess whose import system refuses the other framework (a ``sys.meta_path``
finder that raises ``ModuleNotFoundError``, as a missing package does). What needs the missing
framework says so in one line with exit status 2; nothing shows ``No module named 'telegram'``
as a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BLOCKER = textwrap.dedent("""
    import sys

    class Missing:
        def find_spec(self, name, path, target=None):
            if name == {block!r} or name.startswith({block!r} + "."):
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)

    sys.meta_path.insert(0, Missing())
""")
AIOGRAM_SCENARIO = """\
description = "an aiogram bot, k8s rolling deploy"
seed = 1
horizon = 200
events = [{ at = 0, kind = "start" }, { at = 60, kind = "deploy" }]
[platform]
preset = "k8s_rolling_1"
[bot]
entry = "simbot.drivers.aiogram:naive"
[updates]
every = 10.0
[expect]
single_poller = "fail"
liveness = "pass"
lost_updates = "pass"
duplicates = "pass"
"""

AIOGRAM_LEASE_SCENARIO = """\
description = "simbot's lease run by aiogram's own Dispatcher, k8s rolling deploy"
seed = 1
horizon = 200
events = [{ at = 0, kind = "start" }, { at = 60, kind = "deploy" }]
[platform]
preset = "k8s_rolling_1"
[bot]
policy = "aiogram-lease"
[updates]
every = 10.0
[expect]
single_poller = "pass"
liveness = "pass"
lost_updates = "pass"
duplicates = "pass"
"""


def _python(block: str, code: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -c`` with ``block`` uninstallable; ``code`` runs after the blocker."""
    return subprocess.run([sys.executable, "-c", BLOCKER.format(block=block) + textwrap.dedent(code), *args],
                          capture_output=True, text=True, cwd=cwd, timeout=60)  # fmt: skip


CLI_RUNS = """
    import contextlib, io, json
    import simbot, simbot.pytest_plugin, simbot.scenario, simbot.check, simbot.startup, simbot.explore
    from simbot.cli import main

    results = {"imported": sorted(m for m in ("telegram", "aiogram") if m in sys.modules)}
    for name, argv in json.loads(sys.argv[1]).items():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
            except BaseException as exc:  # a traceback would go here: report it, do not hide it
                code, err = "raised", io.StringIO(repr(exc))
        results[name] = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
    if len(sys.argv) > 2:  # then a pytest session in the same process: the framework is imported once
        import pytest

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "simbot", sys.argv[2]])
        results["pytest"] = {"code": int(code), "stdout": out.getvalue()}
    print(json.dumps(results))
"""


def _cli_runs(block: str, cwd: Path, runs: dict[str, list[str]], *tests: str) -> dict[str, Any]:
    """Several ``simbot`` commands in one subprocess (one import of everything): exit code, stdout, stderr each;
    then a pytest session of ``tests``, if given."""
    done = _python(block, CLI_RUNS, cwd, json.dumps(runs), *tests)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_with_only_aiogram_simbot_imports_replays_aiogram_and_refuses_ptb_in_one_line(tmp_path: Path) -> None:
    """Also a pytest session: the plugin loads (entry point and ``-p simbot``), ``simbot_run`` judges an aiogram entry."""
    scenario = tmp_path / "aiogram.toml"
    scenario.write_text(AIOGRAM_SCENARIO)
    lease = tmp_path / "aiogram-lease.toml"
    lease.write_text(AIOGRAM_LEASE_SCENARIO)
    (tmp_path / "test_bot.py").write_text(textwrap.dedent("""
        def test_aiogram_fights_in_a_rolling_deploy(simbot_run):
            result = simbot_run("k8s_rolling_1", entry="simbot.drivers.aiogram:naive")
            result.assert_outcomes(single_poller="fail", liveness="pass")
    """))
    got = _cli_runs("telegram", tmp_path, {
        "help": ["--help"], "aiogram": ["replay", str(scenario)], "aiogram-lease": ["replay", str(lease)],
        "ptb": ["replay", str(ROOT / "scenarios" / "k8s-rolling-naive.toml")], "demo": ["demo"],
    }, "test_bot.py")  # fmt: skip
    assert got["pytest"]["code"] == 0 and "1 passed" in got["pytest"]["stdout"], got["pytest"]["stdout"]
    assert got["imported"] == [], "importing simbot imported a framework"
    assert got["help"]["code"] == 0 and "usage: simbot" in got["help"]["stdout"]
    assert got["aiogram"]["code"] == 0, got["aiogram"]
    assert "verdict: FAIL" in got["aiogram"]["stdout"]
    assert got["aiogram-lease"]["code"] == 0, got["aiogram-lease"]  # simbot.startup without python-telegram-bot
    assert "verdict: PASS" in got["aiogram-lease"]["stdout"]
    for name in ("ptb", "demo"):
        assert got[name]["code"] == 2, got[name]
        assert "python-telegram-bot is not installed" in got[name]["stderr"]
        assert len(got[name]["stderr"].strip().splitlines()) == 1, got[name]["stderr"]
    assert got["demo"]["stdout"] == "" and got["demo"]["stderr"].startswith("simbot demo: ")


def test_with_only_ptb_simbot_imports_and_the_demo_runs(tmp_path: Path) -> None:
    lease = tmp_path / "aiogram-lease.toml"
    lease.write_text(AIOGRAM_LEASE_SCENARIO)
    got = _cli_runs("aiogram", tmp_path, {"help": ["--help"], "demo": ["demo"], "aiogram-lease": ["replay", str(lease)]})
    assert got["aiogram-lease"]["code"] == 2, got["aiogram-lease"]
    assert "aiogram is not installed" in got["aiogram-lease"]["stderr"]
    assert len(got["aiogram-lease"]["stderr"].strip().splitlines()) == 1, got["aiogram-lease"]["stderr"]
    assert got["help"]["code"] == 0
    assert got["demo"]["code"] == 0, got["demo"]
    assert "verdict: FAIL   trace f718093d9d5da5d9" in got["demo"]["stdout"]
