"""python-telegram-bot 22, unmodified, against the fake.

Over real HTTP (``fake-telegram serve`` in a subprocess, real time, bounded waits) and in
process under virtual time (``simbot.sim.run`` plus ``fake_telegram.mocked``), where each
Application runs in its own contextvars context with ``fake_telegram.caller`` set.
What PTB does is documented in docs/frameworks.md §1.2 (retry on 409),
§1.4 (HTTP layer) and §1.5 (stop and the final confirming getUpdates).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot, Update
from telegram.error import Conflict, NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters
from telegram.request import HTTPXRequest

from fake_telegram import FakeTelegram, caller, message_update, mocked
from simbot.sim import run
from tests.clients.support import (
    EPS,
    OTHER_GET_UPDATES,
    THROTTLE_HOLD,
    Server,
    alternates,
    conflicts,
    ptb_backoff,
    records,
    retry_gaps,
    serve_fake,
    server_log,
    wait_until,
)
from tests.conftest import TOKEN


async def _stop(app: Application) -> None:
    """What run_polling's finally does, minus the hooks: Updater, then Application."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


def _by_id(entries: list[Any]) -> dict[int, Any]:
    return {e.id: e for e in entries}


# -- 1. real HTTP: two Applications, one token ---------------------------------------------


def _http_app(base: str, who: str) -> Application:
    """An Application pointed at the fake, its requests tagged with ``X-Fake-Caller: who``."""

    def request() -> HTTPXRequest:
        return HTTPXRequest(httpx_kwargs={"headers": {"X-Fake-Caller": who}})

    return (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{base}/bot")
        .request(request())
        .get_updates_request(request())
        .build()
    )


def test_two_applications_over_real_http_get_409s_in_turn(tmp_path: Path) -> None:
    errors: dict[str, list[TelegramError]] = {"a": [], "b": []}

    async def main(server: Server) -> tuple[list[Any], list[Any]]:
        apps = {who: _http_app(server.base, who) for who in errors}
        async with httpx.AsyncClient(base_url=server.base, timeout=5) as control:

            def waiting(who: str) -> Callable[[], Awaitable[bool]]:
                async def check() -> bool:
                    log = await server_log(control, TOKEN)
                    return any(
                        e["caller"] == who and e["method"] == "getUpdates" and e["status"] is None
                        for e in log
                    )

                return check

            async def a_b_a() -> bool:
                return len(errors["a"]) >= 2 and len(errors["b"]) >= 1

            try:
                for who, app in apps.items():
                    await app.initialize()
                    await app.start()
                    # poll_timeout 5 s (read timeout 5 + 5): long enough to be kicked, not to time out.
                    await app.updater.start_polling(timeout=5, error_callback=errors[who].append)
                    await wait_until(waiting(who), within=5, what=f"{who}'s first getUpdates to wait")
                # a kicked at once, b held 3 s (throttle), a again: about 5 s in all.
                await wait_until(a_b_a, within=12, what="409s to a, b, a")
                during = records(await server_log(control, TOKEN))
            finally:
                await asyncio.gather(*(_stop(app) for app in apps.values()))
            after = records(await server_log(control, TOKEN))
        return during, after

    with serve_fake(tmp_path) as server:
        during, after = asyncio.run(main(server))
        output = server.text()

    # Both Applications saw telegram.error.Conflict through their error_callback.
    for who, seen in errors.items():
        assert seen, f"{who} saw no error"
        assert all(isinstance(e, Conflict) and e.message == OTHER_GET_UPDATES for e in seen), seen

    # The X-Fake-Caller header told the server who was who.
    assert {e.caller for e in after} == {"a", "b"}
    by_id = _by_id(during)
    kicked = conflicts(during)
    callers = [e.caller for e in kicked]
    assert callers[:3] == ["a", "b", "a"], kicked
    assert alternates(callers), kicked
    for e in kicked:
        kicker = by_id[e.kicked_by]
        assert kicker.caller != e.caller and kicker.method == "getUpdates"
        held = e.answered_at - kicker.at
        assert held < 0.5 or THROTTLE_HOLD - 0.01 <= held < THROTTLE_HOLD + 1.0, (e, kicker)
    # b's 409 came within 3 s of a's: the server held it back for the throttle's 3 s.
    assert kicked[1].answered_at - by_id[kicked[1].kicked_by].at >= THROTTLE_HOLD - 0.01

    # Stopping sent each Application's final confirming getUpdates(timeout=0) (§1.5).
    for who in errors:
        polls = [e for e in after if e.caller == who and e.method == "getUpdates"]
        assert polls[-1].params["timeout"] == "0", polls
    # The server's own log has one line per answered request, the 409s included, secrets masked.
    assert output.count("getUpdates -> 409 (Conflict: terminated by other getUpdates request") >= 3, output
    assert "GET /_fake/bot123456:***/log -> 200" in output
    assert TOKEN.partition(":")[2] not in output


def test_serve_exits_promptly_on_sigterm_while_a_poll_is_pending(tmp_path: Path) -> None:
    """A pending long poll is an open request; it must not hold up the server's shutdown."""
    timings: dict[str, float] = {}

    async def main(server: Server) -> None:
        request = HTTPXRequest(httpx_kwargs={"headers": {"X-Fake-Caller": "ptb"}})
        async with (
            httpx.AsyncClient(base_url=server.base, timeout=5) as control,
            Bot(TOKEN, base_url=f"{server.base}/bot", get_updates_request=request) as bot,
        ):
            poll = asyncio.ensure_future(bot.get_updates(timeout=50))  # read timeout 55 s

            async def waiting() -> bool:
                log = await server_log(control, TOKEN)
                return any(e["method"] == "getUpdates" and e["status"] is None for e in log)

            await wait_until(waiting, within=5, what="the poll to wait")
            sent = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            with pytest.raises(NetworkError):  # the connection is dropped, not answered
                await asyncio.wait_for(poll, 10)
            timings["poll_failed"] = time.monotonic() - sent

            async def exited() -> bool:
                return server.proc.poll() is not None

            await wait_until(exited, within=10, what="the server to exit")
            timings["exited"] = time.monotonic() - sent

    with serve_fake(tmp_path) as server:
        asyncio.run(main(server))
    assert timings["exited"] < 3, timings


# -- 3. virtual time: two Applications for 180 s, deterministic --------------------------------


Trace = list[tuple[Any, ...]]


def _two_apps_in_process(
    seconds: float = 180.0,
) -> tuple[FakeTelegram, dict[str, list[tuple[float, TelegramError]]]]:
    fake = FakeTelegram(seed=0)
    errors: dict[str, list[tuple[float, TelegramError]]] = {"a": [], "b": []}

    async def instance(who: str, start_at: float, stop: asyncio.Event) -> None:
        caller.set(who)  # this task's own context: every request it (and its children) makes is `who`'s
        await asyncio.sleep(start_at)
        loop = asyncio.get_running_loop()
        app = ApplicationBuilder().token(TOKEN).build()
        await app.initialize()
        await app.start()
        # timeout=50 (the server's maximum): a waiting poll outlasts the other side's longest
        # backoff (30 s), so polls end only by being kicked. PTB's default 10 s would let a
        # poll time out, which counts as a success and resets the backoff to 1 s.
        await app.updater.start_polling(
            timeout=50, error_callback=lambda exc: errors[who].append((loop.time(), exc))
        )
        try:
            await stop.wait()
        finally:
            await _stop(app)

    async def main() -> None:
        stop = asyncio.Event()
        tasks = [
            asyncio.ensure_future(instance("a", 0.0, stop)),
            asyncio.ensure_future(instance("b", 0.5, stop)),  # the new deploy, half a second later
        ]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)

    with mocked(fake):
        run(main(), horizon=seconds + 120)
    return fake, errors


def _trace(fake: FakeTelegram) -> Trace:
    return [
        (
            e.id,
            e.at,
            e.caller,
            e.method,
            tuple(sorted(e.params.items())),
            e.status,
            e.answered_at,
            e.kicked_by,
            e.abandoned_at,
        )
        for e in fake.log
    ]


def test_two_applications_in_virtual_time_alternate_and_back_off_as_documented() -> None:
    fake, errors = _two_apps_in_process()
    log = list(fake.log)
    by_id = _by_id(log)
    kicked = conflicts(log)

    # Both saw Conflict, exactly when the server answered their polls with 409.
    for who in ("a", "b"):
        assert errors[who], f"{who} saw no error"
        assert all(isinstance(exc, Conflict) and exc.message == OTHER_GET_UPDATES for _, exc in errors[who])
        assert [t for t, _ in errors[who]] == pytest.approx(
            [e.answered_at for e in kicked if e.caller == who], abs=EPS
        )

    # They alternate: a (kicked by b's first poll), b, a, b, ... each kicked by the other.
    callers = [e.caller for e in kicked]
    assert callers[0] == "a" and alternates(callers), callers
    assert len(kicked) >= 15
    for e in kicked:
        kicker = by_id[e.kicked_by]
        assert kicker.caller != e.caller and kicker.method == "getUpdates"
        # Answered at the kick, or held exactly 3 s when a 409 was already sent within 3 s (§4.2).
        held = e.answered_at - kicker.at
        assert held == pytest.approx(0, abs=EPS) or held == pytest.approx(THROTTLE_HOLD, abs=EPS), (e, kicker)
    assert any(e.answered_at - by_id[e.kicked_by].at > 1 for e in kicked), "no 409 was held"

    # PTB's documented schedule: retry 1, 1.5, 2.25, 3.375, ... s after each 409, capped at 30 s.
    # Between two polls of one app lie its backoff, plus 0 or 3 s of hold, plus its wait in the slot.
    for who in ("a", "b"):
        gaps = retry_gaps(log, who)
        assert gaps == pytest.approx(ptb_backoff(len(gaps)), abs=EPS), (who, gaps)
    # a's last backoff reached the cap: its stop at t=180.5 waited out the 30 s sleep (§1.5) and
    # only then sent its final getUpdates(timeout=0).
    gaps_a = retry_gaps(log, "a")
    assert len(gaps_a) >= 10 and gaps_a[-1] == pytest.approx(30.0, abs=EPS), gaps_a
    last_a = [e for e in log if e.caller == "a" and e.method == "getUpdates"][-1]
    assert last_a.params["timeout"] == "0" and last_a.at > 180.5 + 5


def test_two_applications_in_virtual_time_are_deterministic() -> None:
    first, _ = _two_apps_in_process()
    second, _ = _two_apps_in_process()
    assert len(first.log) > 20
    assert _trace(first) == _trace(second)


# -- 5. stop while a poll is pending: the final confirming getUpdates --------------------------


@pytest.mark.parametrize("stop_at", [5.0, 2.0], ids=["idle-4s", "within-3s-of-last-poll"])
def test_updater_stop_cancels_the_poll_and_confirms_with_timeout_0(stop_at: float) -> None:
    fake = FakeTelegram(seed=0)
    seen: list[tuple[float, str]] = []
    stopped: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        caller.set("solo")
        app = ApplicationBuilder().token(TOKEN).build()

        async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.message is not None
            seen.append((loop.time(), update.message.text or ""))

        app.add_handler(MessageHandler(filters.TEXT, on_text))
        await app.initialize()
        await app.start()
        await app.updater.start_polling(timeout=10)
        await asyncio.sleep(1)
        fake.push(TOKEN, message_update("hi", date=int(fake.epoch + loop.time())))
        await asyncio.sleep(stop_at - 1)
        await app.updater.stop()  # no signal: what run_polling's finally calls first
        stopped.append(loop.time())
        await app.stop()
        await app.shutdown()
        await asyncio.sleep(15)  # let the abandoned poll run out server-side

    with mocked(fake):
        run(main(), horizon=100)

    assert seen == [(pytest.approx(1.001), "hi")]  # woken ~1 ms after the push (§3.4)
    log = list(fake.log)
    assert [e.method for e in log] == ["getMe", "deleteWebhook", "getUpdates", "getUpdates", "getUpdates"]
    first, pending, cleanup = log[2:]
    (update_id,) = first.update_ids
    offset = str(update_id + 1)
    assert first.params == {"timeout": "10", "offset": "0"} and first.answered_at == pytest.approx(1.001)
    assert pending.params == {"timeout": "10", "offset": offset} and pending.at == pytest.approx(1.001)
    # Updater.stop() cancelled the in-flight poll: the client gave up, the server kept it (a ghost).
    assert pending.abandoned_at == pytest.approx(stop_at)
    # ... and then sent one more getUpdates with the same offset and timeout=0 (§1.5).
    assert cleanup.params == {"timeout": "0", "offset": offset}
    assert cleanup.at == pytest.approx(stop_at) and cleanup.status == 200 and cleanup.update_ids == ()
    if stop_at - pending.at >= 3:
        # A plain short poll: answered at once, the ghost left alone until its own timeout.
        assert cleanup.answered_at == pytest.approx(stop_at) and not cleanup.long_poll
        assert stopped == [pytest.approx(stop_at)]
        assert pending.status == 200 and pending.answered_at == pytest.approx(1.001 + 10)
        assert pending.kicked_by is None
    else:
        # Same offset within 3 s of the previous call: the server raises timeout 0 to 3 (§3.2,
        # §4.3), so the cleanup becomes a long poll that kicks the ghost (its 409 goes nowhere)
        # and waits 3 s: Updater.stop() takes 3 s.
        assert cleanup.long_poll and cleanup.kicked == pending.id
        assert pending.status == 409 and pending.kicked_by == cleanup.id
        assert pending.answered_at == pytest.approx(stop_at)
        assert cleanup.answered_at == pytest.approx(stop_at + 3)
        assert stopped == [pytest.approx(stop_at + 3)]
