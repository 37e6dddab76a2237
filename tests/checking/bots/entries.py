"""Entry points (simbot's own contract) for tests that need a running bot before script targets exist."""

from __future__ import annotations

import dataclasses
import sys

from simbot.drivers import ptb
from simbot.sim.process import InstanceContext

BAKED_TOKEN = "777777:AAHdevTokenLeftInTheCodeForTestsOnly"


async def chatty(info: InstanceContext) -> None:
    """The default PTB bot that also prints, as bots do: ``--json`` must keep stdout pure anyway."""
    print("chatty bot: starting up, hello stdout")
    sys.stdout.write("{not json\n")
    await ptb.naive(info)


async def token_from_bot_token(info: InstanceContext) -> None:
    """The default PTB bot polling with the token in ``BOT_TOKEN`` (simbot sets it unless told otherwise)."""
    await ptb.naive(dataclasses.replace(info, env={**info.env, "TELEGRAM_BOT_TOKEN": info.env["BOT_TOKEN"]}))


async def baked_token(info: InstanceContext) -> None:
    """The default PTB bot polling with a token of its own, not the simulation's."""
    await ptb.naive(dataclasses.replace(info, env={**info.env, "TELEGRAM_BOT_TOKEN": BAKED_TOKEN}))
