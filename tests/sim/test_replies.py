"""Replies a chat user saw twice: each message the bot sends while its framework handles an update is
tied to that update, and the verdict names updates answered by two instances (or twice by one)."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from fake_telegram import message_update
from simbot.check import judge
from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text(update.message.text or "")
    if update.message.text == "two":
        await update.message.reply_text("and a second message, by design")


async def forgets_the_offset(info: InstanceContext) -> None:
    """A hand-written loop that never confirms: every fetch reads the same updates again."""
    app = ApplicationBuilder().token(info.env["TELEGRAM_BOT_TOKEN"]).build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    await app.initialize()
    while True:
        for update in await app.bot.get_updates(timeout=0):
            await app.process_update(update)
        await asyncio.sleep(5)


async def polls_properly(info: InstanceContext) -> None:
    app = ApplicationBuilder().token(info.env["TELEGRAM_BOT_TOKEN"]).build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    await app.initialize()
    await app.updater.start_polling()  # type: ignore[union-attr]
    await app.start()
    await asyncio.Event().wait()


def _run(*spawns: tuple[float, str, Any], texts: tuple[str, ...] = ("hi",), horizon: float = 12) -> Any:
    sim = Simulation(seed=0, horizon=horizon)
    for at, name, entry in spawns:
        sim.at(at, lambda name=name, entry=entry: sim.spawn(name, entry))
    for i, text in enumerate(texts):
        sim.at(3 + i, lambda text=text: sim.push(message_update(text, date=int(sim.epoch + sim.now()))))
    return judge(sim.run())


def test_two_instances_answering_one_update_are_named_in_the_verdict() -> None:
    verdict = _run((0, "a", forgets_the_offset), (1, "b", forgets_the_offset))
    [twice] = verdict.metrics["replies"]["answered_twice"]
    assert twice["instances"] == ["a", "b"] and twice["replies"] == 4  # a at 5 s and 10 s, b at 6 s and 11 s
    assert verdict.outcome("duplicates") == "fail"
    assert all("the user got 4 replies" in v.what for v in verdict.checks["duplicates"].violations)
    assert f"update {twice['update_id']} by a and b (4 messages)" in verdict.describe()
    assert verdict.to_json()["metrics"]["replies"]["answered_twice"][0]["requests"] == twice["requests"]


def test_one_instance_handling_an_update_twice_answered_it_twice() -> None:
    verdict = _run((0, "a", forgets_the_offset))
    [twice] = verdict.metrics["replies"]["answered_twice"]
    assert twice["instances"] == ["a"] and twice["replies"] == 2


def test_several_messages_from_one_handling_are_the_bots_design_not_a_duplicate() -> None:
    verdict = _run((0, "a", polls_properly), texts=("hi", "two"))
    replies = verdict.metrics["replies"]
    assert (replies["sent"], replies["updates_answered"], replies["answered_twice"]) == (3, 2, [])
    assert verdict.outcome("duplicates") == "pass" and "replies:" not in verdict.describe()
