"""The pytest plugin (entry point ``pytest11: simbot``), active wherever simbot is installed.

Fixtures (``fixtures.py``):

- ``fake_telegram``: a fresh fake Bot API server; ``telegram_mock``: every httpx client routed to it.
- ``simbot_run``: run a deploy scenario built from keywords and judge it, in one call::

      result = simbot_run("render_worker", startup="mybot.startup:patient")
      result.assert_passes()            # or result.assert_outcomes(single_poller="fail", ...)

  A failed assertion shows the differences, the text timeline, the verdict and a
  ``simbot replay FILE`` command (the scenario is written to a scenario file for it).
- ``simulation``: a factory of bare ``Simulation`` objects (seed 0) for low-level tests.

Scenario files as tests (``scenario_files.py``): with the ini option ``simbot_scenarios``
(folders, relative to the ini file), every ``*.toml`` in those folders, at any depth, is
one test item, ``FILE::expect``, asserting the file's ``[expect]``. A run from the rootdir
without path arguments (the one that uses ``testpaths``) also walks those folders; a run
with explicit paths collects the scenario files in those paths, like any test file.

Bounded exploration (``exploring.py``): ``pytest --simbot-explore lease
--simbot-platforms render_worker,ecs_default --simbot-examples 25`` adds one item per
platform that fails with the shrunk counterexample, its timeline and a one-command repro.
"""

from __future__ import annotations

import pytest

from . import exploring, scenario_files
from .fixtures import SimbotRunner, SimulationResult, fake_telegram, simbot_run, simulation, telegram_mock

__all__ = ["SimbotRunner", "SimulationResult", "fake_telegram", "simbot_run", "simulation", "telegram_mock"]


def pytest_addoption(parser: pytest.Parser) -> None:
    scenario_files.add_options(parser)
    exploring.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    scenario_files.configure(config)


def pytest_collect_file(file_path, parent):  # type: ignore[no-untyped-def]
    return scenario_files.collect_file(file_path, parent)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    exploring.add_items(session, config, items)
