"""Handled updates come from the frameworks themselves (``simbot.drivers.instrument``), not from handlers
simbot adds: a bot with only its own handlers is judged by what PTB and aiogram processed."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Message
from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from fake_telegram import FakeTelegram, handling, message_update
from fake_telegram.transports.aiogram import FakeSession
from simbot.drivers import instrument
from simbot.sim.process import InstanceContext
from simbot.sim.simulation import Simulation

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


async def ptb_echo(info: InstanceContext) -> None:
    """An ordinary PTB bot: its own echo handler, one that raises on "boom", nothing of simbot's."""

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.message.text is not None
        if update.message.text == "boom":
            raise RuntimeError("the bot's own bug")
        await update.message.reply_text(update.message.text)

    app = ApplicationBuilder().token(info.env["TELEGRAM_BOT_TOKEN"]).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.updater.start_polling()  # type: ignore[union-attr]
    await app.start()
    await asyncio.Event().wait()


async def aiogram_echo(info: InstanceContext) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        if message.text == "boom":
            raise RuntimeError("the bot's own bug")
        await message.answer(message.text or "")

    await dp.start_polling(Bot(info.env["TELEGRAM_BOT_TOKEN"]), handle_signals=False)


def _run(entry: Any) -> Any:
    sim = Simulation(seed=1, horizon=30)
    sim.at(0, lambda: sim.spawn("bot", entry))
    for t, text in ((5, "hi"), (10, "boom"), (15, "again")):
        sim.at(t, lambda text=text: sim.push(message_update(text, date=int(sim.epoch + sim.now()))))
    return sim.run()


@pytest.mark.parametrize("entry", [ptb_echo, aiogram_echo], ids=["ptb", "aiogram"])
def test_updates_the_bot_processed_are_handled_and_its_replies_name_them(entry: Any) -> None:
    trace = _run(entry)
    handled = [(e["instance"], e["update_id"]) for e in trace.of("handled")]
    pushed = [e["update_id"] for e in trace.of("push")]
    assert handled == [("bot", uid) for uid in pushed]  # the raising handler's update too: it reached the bot
    sent = [r for r in trace.of("request") if r["method"] == "sendMessage"]
    assert [(r["params"]["text"], r["handling"]) for r in sent] == [("hi", pushed[0]), ("again", pushed[2])]
    assert all("handling" not in r for r in trace.of("request") if r["method"] != "sendMessage")


def test_outside_a_run_nothing_is_wrapped() -> None:
    from aiogram.dispatcher.dispatcher import Dispatcher as Defined
    from telegram.ext import Application

    for cls, name in ((Application, "process_update"), (Defined, "feed_update")):
        assert not hasattr(cls.__dict__[name], "__simbot_real__")
    _run(ptb_echo)
    for cls, name in ((Application, "process_update"), (Defined, "feed_update")):
        assert not hasattr(cls.__dict__[name], "__simbot_real__")


def test_aiogram_webhook_and_raw_paths_note_each_update_once() -> None:
    """feed_raw_update and feed_webhook_update go through feed_update once; the tag is gone afterwards."""
    noted: list[int] = []
    seen: list[int | None] = []

    async def main() -> None:
        fake = FakeTelegram(seed=0)
        bot = Bot(TOKEN, session=FakeSession(fake))
        dp = Dispatcher()

        @dp.message()
        async def mark(message: Message) -> None:
            seen.append(handling.get())

        raw = {"update_id": 7, **message_update("x", date=0)}
        with instrument.instrumented(noted.append):
            await dp.feed_raw_update(bot, raw)
            await dp.feed_webhook_update(bot, {**raw, "update_id": 8})
            await dp.feed_update(bot, _aiogram_update(raw, 9, bot))
        assert handling.get() is None

    asyncio.run(main())
    assert noted == [7, 8, 9] and seen == [7, 8, 9]


def _aiogram_update(raw: dict[str, Any], uid: int, bot: Bot) -> Any:
    from aiogram.types import Update as AiogramUpdate

    return AiogramUpdate.model_validate({**raw, "update_id": uid}, context={"bot": bot})


def test_a_framework_imported_during_the_run_is_wrapped_on_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bot that imports its framework inside the simulated process: the import itself is watched."""
    (tmp_path / "late_framework.py").write_text(textwrap.dedent("""
        class Dispatcher:
            async def feed_update(self, bot, update):
                return update.update_id
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    targets = {"late_framework": ("Dispatcher", "feed_update", instrument._aiogram_update_id)}
    monkeypatch.setattr(instrument, "TARGETS", targets)
    monkeypatch.delitem(sys.modules, "late_framework", raising=False)
    noted: list[int] = []

    class Update:
        update_id = 41

    with instrument.instrumented(noted.append):
        import late_framework  # imported during the run, on purpose

        assert asyncio.run(late_framework.Dispatcher().feed_update(None, Update())) == 41
    assert noted == [41]
    assert not hasattr(late_framework.Dispatcher.__dict__["feed_update"], "__simbot_real__")  # restored
    assert late_framework.__loader__.get_source("late_framework") is not None  # the real loader answers


def test_a_custom_object_on_ptbs_queue_is_not_an_update() -> None:
    assert instrument._ptb_update_id(object()) is None
    assert instrument._ptb_update_id(Update(5)) == 5
