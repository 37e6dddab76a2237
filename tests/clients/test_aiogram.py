"""aiogram 3, unmodified, against the fake.

Over real HTTP (``AiohttpSession`` pointed at ``fake-telegram serve`` in a subprocess) and in
process under virtual time (``fake_telegram.transports.aiogram.FakeSession``). What aiogram
does is documented in docs/frameworks.md §2: any polling error is logged on
the ``aiogram.dispatcher`` logger and retried after a backoff; stop cancels the pending poll
and sends no confirming getUpdates.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramConflictError, TelegramNetworkError
from aiogram.types import Message
from aiogram.utils.backoff import BackoffConfig

from fake_telegram import FakeTelegram, caller, message_update
from fake_telegram.transports.aiogram import FakeSession
from simbot.sim import run
from tests.clients.support import (
    EPS,
    OTHER_GET_UPDATES,
    THROTTLE_HOLD,
    Server,
    aiogram_backoff,
    alternates,
    conflicts,
    records,
    retry_gaps,
    serve_fake,
    server_log,
    wait_until,
)
from tests.conftest import TOKEN

FAILED = f"Failed to fetch updates - TelegramConflictError: Telegram server says - {OTHER_GET_UPDATES}"


def _failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "aiogram.dispatcher" and r.getMessage() == FAILED]


# -- 2. real HTTP: aiogram polling while a raw client polls the same token -----------------------


def test_aiogram_over_real_http_gets_409s_and_keeps_retrying(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backoff = BackoffConfig(min_delay=0.5, max_delay=1.0, factor=1.3, jitter=0)  # 0.5, 0.65, 0.845, 1, ...

    async def main(server: Server) -> tuple[list[Any], list[Any]]:
        session = AiohttpSession(api=TelegramAPIServer.from_base(server.base))
        # aiogram has no header option; tag its own aiohttp ClientSession (public aiohttp API).
        (await session.create_session()).headers["X-Fake-Caller"] = "aiogram"
        bot = Bot(TOKEN, session=session)
        dp = Dispatcher()
        polling = asyncio.ensure_future(
            dp.start_polling(bot, polling_timeout=5, handle_signals=False, backoff_config=backoff)
        )
        async with (
            httpx.AsyncClient(base_url=server.base, timeout=5) as control,
            httpx.AsyncClient(base_url=server.base, headers={"X-Fake-Caller": "raw"}, timeout=15) as raw,
        ):

            async def log() -> list[Any]:
                return records(await server_log(control, TOKEN))

            async def aiogram_waiting() -> bool:
                return any(
                    e.caller == "aiogram" and e.method == "getUpdates" and e.status is None
                    for e in await log()
                )

            async def retried_twice() -> bool:
                polls = [e for e in await log() if e.caller == "aiogram" and e.method == "getUpdates"]
                kicked = [e for e in polls if e.status == 409]
                return len(kicked) >= 2 and polls[-1].at > kicked[-1].answered_at

            async def raw_poller() -> None:
                """A second instance: poll for ever, 0.5 s pause after a 409."""
                while True:
                    reply = await raw.post(f"/bot{TOKEN}/getUpdates", data={"timeout": "5"})
                    if reply.status_code == 409:
                        await asyncio.sleep(0.5)

            other = None
            try:
                await wait_until(aiogram_waiting, within=5, what="aiogram's first getUpdates to wait")
                other = asyncio.ensure_future(raw_poller())
                # aiogram kicked at once, raw held 3 s, aiogram again: about 4.5 s.
                await wait_until(
                    retried_twice, within=12, what="two 409s to aiogram, each followed by a retry"
                )
                during = await log()
            finally:
                if other is not None:
                    other.cancel()
                await dp.stop_polling()
                await polling

            async def last_poll_abandoned() -> bool:
                polls = [e for e in await log() if e.caller == "aiogram" and e.method == "getUpdates"]
                return polls[-1].abandoned_at is not None or polls[-1].status is not None

            await wait_until(last_poll_abandoned, within=3, what="the server to see aiogram's poll dropped")
            after = await log()
        return during, after

    with serve_fake(tmp_path) as server:
        during, after = asyncio.run(main(server))

    ours = [e for e in during if e.caller == "aiogram"]
    assert ours[0].method == "getMe"
    polls = [e for e in ours if e.method == "getUpdates"]
    # No handlers registered: aiogram resolves allowed_updates to [] (§2); the first poll has no offset.
    assert all(e.params == {"timeout": "5", "allowed_updates": "[]"} for e in polls), polls
    kicked = conflicts(during)
    assert [e.caller for e in kicked][:3] == ["aiogram", "raw", "aiogram"], kicked
    assert alternates([e.caller for e in kicked])
    # aiogram kept retrying: a new getUpdates after each 409, the backoff's delay later.
    gaps = retry_gaps(during, "aiogram")
    assert len(gaps) >= 2
    for gap, delay in zip(
        gaps, aiogram_backoff(len(gaps), min_delay=0.5, max_delay=1.0, factor=1.3), strict=True
    ):
        assert delay - 0.01 <= gap < delay + 0.5, (gaps, delay)
    # raw's 409 came within 3 s of aiogram's: held for the throttle.
    by_id = {e.id: e for e in during}
    assert kicked[1].answered_at - by_id[kicked[1].kicked_by].at >= THROTTLE_HOLD - 0.01
    # aiogram only logs the errors (it has no error callback for polling).
    assert len(_failures(caplog)) >= 2
    # stop_polling() cancelled the pending poll and sent no confirming getUpdates.
    last = [e for e in after if e.caller == "aiogram"][-1]
    assert last.method == "getUpdates" and last.params["timeout"] == "5"
    assert last.abandoned_at is not None or last.status == 409, last


# -- 4. in process, virtual time ------------------------------------------------------------------

BACKOFF = BackoffConfig(min_delay=1.0, max_delay=5.0, factor=1.3, jitter=0)  # 1, 1.3, 1.69, 2.197, ...


def test_aiogram_in_process_handles_an_update_then_retries_through_conflicts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTelegram(seed=0)
    seen: list[tuple[float, str]] = []
    other_conflicts: list[float] = []
    stop_at = 27.0  # aiogram's poll from t=23.187 is then waiting in the slot

    async def main() -> None:
        loop = asyncio.get_running_loop()
        bot = Bot(TOKEN, session=FakeSession(fake))
        dp = Dispatcher()

        @dp.message()
        async def on_message(message: Message) -> None:
            seen.append((loop.time(), message.text or ""))

        async def aiogram_instance() -> None:
            caller.set("aiogram")
            await dp.start_polling(bot, polling_timeout=10, handle_signals=False, backoff_config=BACKOFF)

        async def other_instance() -> None:
            """A second poller on the same token: 2 s pause after each 409."""
            caller.set("other")
            other = Bot(TOKEN, session=FakeSession(fake))
            while True:
                try:
                    await other.get_updates(timeout=10)
                except TelegramConflictError:
                    other_conflicts.append(loop.time())
                    await asyncio.sleep(2)

        polling = asyncio.ensure_future(aiogram_instance())
        await asyncio.sleep(1)
        fake.push(TOKEN, message_update("hi", date=int(fake.epoch)))
        await asyncio.sleep(1)
        second = asyncio.ensure_future(other_instance())
        await asyncio.sleep(stop_at - 2)
        second.cancel()
        await dp.stop_polling()
        await polling

    run(main(), horizon=100)

    log = list(fake.log)
    ours = [e for e in log if e.caller == "aiogram"]
    polls = [e for e in ours if e.method == "getUpdates"]
    # The pushed update reached the registered handler, 1 ms after the push (§3.4).
    assert seen == [(pytest.approx(1.001), "hi")]
    (update_id,) = polls[0].update_ids
    assert polls[0].params == {"timeout": "10", "allowed_updates": '["message"]'}
    assert polls[1].params["offset"] == str(update_id + 1) and polls[1].at == pytest.approx(1.001)

    # The second poller (from t=2) kicked aiogram's poll: TelegramConflictError, logged only.
    kicked = conflicts(log)
    callers = [e.caller for e in kicked]
    assert callers[0] == "aiogram" and kicked[0].answered_at == pytest.approx(2.0)
    assert alternates(callers) and callers.count("aiogram") >= 4, callers
    failures = _failures(caplog)
    assert len(failures) == callers.count("aiogram")
    assert other_conflicts == pytest.approx([e.answered_at for e in kicked if e.caller == "other"], abs=EPS)
    # aiogram kept retrying: 1, 1.3, 1.69, 2.197 ... s after each 409 (jitter 0, §2).
    gaps = retry_gaps(log, "aiogram")
    assert gaps == pytest.approx(
        aiogram_backoff(len(gaps), min_delay=1.0, max_delay=5.0, factor=1.3), abs=EPS
    )
    assert len(gaps) >= 4
    # stop_polling() cancelled the pending poll (a ghost now) and sent nothing more (§2).
    last = ours[-1]
    assert last.method == "getUpdates" and last.abandoned_at == pytest.approx(stop_at)


def test_aiogram_read_timeout_leaves_a_ghost_poll_that_a_restart_kicks_silently(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTelegram(seed=0)
    seen: list[tuple[float, str]] = []
    checks: dict[str, Any] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        caller.set("impatient")
        bot = Bot(TOKEN, session=FakeSession(fake))
        # A read timeout (2 s) shorter than the poll (10 s): the client gives up ...
        with pytest.raises(TelegramNetworkError, match="Request timeout error"):
            await bot.get_updates(timeout=10, request_timeout=2)
        checks["raised_at"] = loop.time()
        ghost = fake.log.select(method="getUpdates")[-1]
        checks["at_giveup"] = (ghost.response, ghost.abandoned_at)
        await asyncio.sleep(7.5)  # t=9.5: the server still holds the poll
        checks["at_9.5"] = (ghost.response, fake.bot(TOKEN).poll is ghost)
        await asyncio.sleep(1)  # t=10.5: ... until its own timeout, answered to nobody
        checks["at_10.5"] = (ghost.status, ghost.answered_at, ghost.update_ids)

        # A second ghost, then a restarted instance: its first poll kicks the ghost, whose 409
        # goes nowhere; the restarted instance itself sees no error (§9).
        with pytest.raises(TelegramNetworkError):
            await bot.get_updates(timeout=10, request_timeout=2)
        checks["ghost2"] = fake.log.select(method="getUpdates")[-1]
        dp = Dispatcher()

        @dp.message()
        async def on_message(message: Message) -> None:
            seen.append((loop.time(), message.text or ""))

        async def restarted() -> None:
            caller.set("restarted")
            await dp.start_polling(
                Bot(TOKEN, session=FakeSession(fake)),
                polling_timeout=10,
                handle_signals=False,
                backoff_config=BACKOFF,
            )

        polling = asyncio.ensure_future(restarted())
        await asyncio.sleep(1)
        fake.push(TOKEN, message_update("after restart", date=int(fake.epoch + loop.time())))
        await asyncio.sleep(1)
        await dp.stop_polling()
        await polling

    run(main(), horizon=100)

    assert checks["raised_at"] == pytest.approx(2.0)
    assert checks["at_giveup"] == (None, pytest.approx(2.0))
    assert checks["at_9.5"] == (None, True)
    assert checks["at_10.5"] == (200, pytest.approx(10.0), ())
    ghost2 = checks["ghost2"]
    assert ghost2.at == pytest.approx(10.5) and ghost2.abandoned_at == pytest.approx(12.5)
    restarted_polls = [e for e in fake.log if e.caller == "restarted" and e.method == "getUpdates"]
    assert ghost2.status == 409 and ghost2.kicked_by == restarted_polls[0].id
    assert ghost2.answered_at == pytest.approx(12.5)
    assert all(e.status != 409 for e in fake.log if e.caller == "restarted")
    assert not _failures(caplog)
    assert seen == [(pytest.approx(13.501), "after restart")]
