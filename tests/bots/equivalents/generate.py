"""Write ``equivalents/*.toml``: each corpus bot's logic through today's contract, with the verdict it gets.

    .venv/bin/python -m tests.bots.equivalents.generate      (from the repository root)

The runs are the README matrix's (``simbot.matrix.deploy``): seed 1, start at 0 s, a deploy at
60 s, an update every 10 s until a minute before the settled horizon. ``[expect]`` records each
checker's outcome and the status, so ``test_equivalents.py`` fails if today's machinery changes
them, and the simulation of the corpus bots as written can be compared with them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from simbot.check import CHECKS, judge
from simbot.matrix import settled_horizon
from simbot.platforms import PRESETS
from simbot.scenario import Bot, Event, Scenario, Updates, simulate
from simbot.scenario.files import save

HERE = Path(__file__).parent
PLATFORMS = ("render_worker", "k8s_recreate")
LOGIC = "tests.bots.equivalents.logic"
# file stem -> (which corpus bots it stands for, the bot)
EQUIVALENTS: dict[str, tuple[str, Bot]] = {
    "naive": ("ptb_echo, ptb_pidfile", Bot(policy="naive")),
    "naive-drop-pending": ("ptb_module_app", Bot(startup=f"{LOGIC}:naive_drop_pending")),
    "incident-bot": ("ptb_incident", Bot(entry=f"{LOGIC}:incident_bot")),
    "delay-probe-backoff-probe0": (
        "ptb_incident (closest shipped policy)", Bot(policy="delay-probe-backoff", params={"probe_timeout": 0}),
    ),
    "aiogram-naive": ("aiogram_echo, aiogram_router", Bot(entry="simbot.drivers.aiogram:naive")),
    "aiogram-drop-pending": ("aiogram_webhook_cleanup", Bot(entry=f"{LOGIC}:aiogram_drop_pending")),
}


def scenario(stem: str, platform: str) -> Scenario:
    bots, bot = EQUIVALENTS[stem]
    horizon = settled_horizon(PRESETS[platform], 60.0)
    pushes = tuple(float(t) for t in range(5, int(horizon) - 60, 10))
    return Scenario(
        seed=1, horizon=horizon, platform=platform, bot=bot, events=(Event(0.0, "start"), Event(60.0, "deploy")),
        updates=Updates(at=pushes), description=f"The logic of tests/bots/{bots} through today's contract.",
    )  # fmt: skip


def main() -> None:
    for stem in EQUIVALENTS:
        for platform in PLATFORMS:
            s = scenario(stem, platform)
            verdict = judge(simulate(s))
            expect = {"status": verdict.status.lower(), **{name: verdict.outcome(name) for name in CHECKS}}
            save(replace(s, expect=expect), HERE / f"{stem}--{platform}.toml")
            print(f"{stem:28} {platform:14} {expect}")


if __name__ == "__main__":
    main()
