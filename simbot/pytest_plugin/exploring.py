"""``--simbot-explore``: a bounded hypothesis search of a start-up, as test items of the session."""

from __future__ import annotations

import shlex
from typing import Any

import pytest

from ..explore import explore
from ..explore.command import bot_from, cannot_start, command_line
from ..report import timeline
from ..scenario import save, simulate


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("simbot", "simbot: deterministic deploy simulation")
    group.addoption("--simbot-explore", action="append", default=[], metavar="NAME|module:function",
                    help="also search scenarios for one this start-up fails (a policy name or your "
                         "async (Application) -> None); one test item per platform")  # fmt: skip
    group.addoption("--simbot-platforms", default="render_worker", metavar="A,B",
                    help="platform presets for --simbot-explore (default: render_worker)")
    group.addoption("--simbot-examples", type=int, default=25, metavar="N",
                    help="scenarios per search (default: 25); the same N and seed search the same scenarios")
    group.addoption("--simbot-seed", type=int, default=0, metavar="N", help="search seed (default: 0)")


def add_items(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    for name in config.getoption("simbot_explore"):
        for platform in config.getoption("simbot_platforms").split(","):
            items.append(ExploreItem.from_parent(session, name=f"simbot-explore[{name}@{platform.strip()}]",
                                                 target=name, platform=platform.strip()))  # fmt: skip


class Counterexample(AssertionError):
    pass


class ExploreItem(pytest.Item):
    def __init__(self, *, target: str, platform: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.target, self.platform = target, platform

    def runtest(self) -> None:
        config = self.config
        examples, seed = config.getoption("simbot_examples"), config.getoption("simbot_seed")
        try:
            bot = bot_from(self.target)
            found = explore(bot, self.platform, examples=examples, seed=seed)
        except ValueError as exc:
            raise Counterexample(f"--simbot-explore {self.target} on {self.platform}: {exc}") from None
        if found.cannot_start is not None:
            raise Counterexample(f"--simbot-explore {self.target}: {cannot_start(found)}")
        if found.counterexample is None or found.verdict is None:
            return
        again = command_line(self.target, self.platform, examples, seed)
        scenario = found.as_scenario(again)
        path = self.config._tmp_path_factory.mktemp("simbot-explore") / f"{self.platform}.toml"  # type: ignore[attr-defined]
        save(scenario, path)
        raise Counterexample("\n".join([
            f"{self.target} on {self.platform} fails {', '.join(found.failed())} in this scenario ({found.run} runs):",
            timeline(simulate(scenario)), "", found.verdict.describe(), "",
            f"reproduce: simbot replay {shlex.quote(str(path))}", f"search again: {again}",
        ]))  # fmt: skip

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, Counterexample):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.name, None, self.name
