"""Scenario files as test items: each file's [expect] is the assertion."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# -- scenario files as test items ---------------------------------------------------------

SCENARIO_FOLDERS = pytest.StashKey[list[Path]]()


def add_options(parser: pytest.Parser) -> None:
    parser.addini("simbot_scenarios", type="paths", default=[],
                  help="folders (relative to the ini file) whose *.toml scenario files are tests of their [expect]")  # fmt: skip


def configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "simbot_scenario: a scenario file replayed against its [expect]")
    folders = [Path(p).resolve() for p in config.getini("simbot_scenarios")]
    config.stash[SCENARIO_FOLDERS] = folders
    here = config.invocation_params.dir
    whole_project = config.args_source == pytest.Config.ArgsSource.TESTPATHS or (
        config.args_source == pytest.Config.ArgsSource.INVOCATION_DIR and here == config.rootpath)
    if not whole_project:
        return  # explicit paths: collect what was asked for
    walked = [(here / a).resolve() for a in config.args]
    for folder in folders:
        if not folder.is_dir():
            config.issue_config_time_warning(
                pytest.PytestConfigWarning(f"simbot_scenarios: {folder} is not a folder"), stacklevel=2)
        elif not any(folder.is_relative_to(w) for w in walked):
            config.args.append(os.path.relpath(folder, here) if folder.is_relative_to(here) else str(folder))


def collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    folders = parent.config.stash.get(SCENARIO_FOLDERS, [])
    if file_path.suffix == ".toml" and any(file_path.resolve().is_relative_to(f) for f in folders):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield ScenarioItem.from_parent(self, name="expect")


class ScenarioDiffers(AssertionError):
    """A scenario whose verdict is not its [expect]; the message is the whole report."""


class ScenarioItem(pytest.Item):
    """One scenario file: loaded, run, judged, compared with its [expect] (as ``simbot replay`` does)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_marker("simbot_scenario")

    def runtest(self) -> None:
        from ..report import timeline
        from ..scenario import load, replay

        scenario = load(self.path)  # a ScenarioError: reported as its message alone
        trace, verdict, differs = replay(scenario)
        if differs:
            shown = _shown(self.path, self.config.invocation_params.dir)
            lines = [f"{shown} differs from [expect]:", *(f"  {d}" for d in differs), ""]
            if scenario.description:
                lines.append(scenario.description.strip())
            lines += [timeline(trace), "", verdict.describe(), "", f"reproduce: simbot replay {shown}"]
            raise ScenarioDiffers("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from ..scenario import ScenarioError

        if isinstance(excinfo.value, ScenarioError):  # the file, the key, what was expected
            return str(excinfo.value).replace(str(self.path), _shown(self.path, self.config.invocation_params.dir), 1)
        if isinstance(excinfo.value, ScenarioDiffers):
            return str(excinfo.value)
        if isinstance(excinfo.value, ValueError) and str(excinfo.value).startswith("entry point "):
            shown = _shown(self.path, self.config.invocation_params.dir)
            return f"{shown}: {excinfo.value}"  # bot.startup / bot.entry names nothing importable
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.nodeid


def _shown(path: Path, here: Path) -> str:
    """The path as the user would type it from where pytest runs."""
    return os.path.relpath(path, here) if path.resolve().is_relative_to(here.resolve()) else str(path)
