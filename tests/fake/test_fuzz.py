"""Fuzzing the fake Bot API: whatever arrives, the answer is Telegram-shaped.

Every example is a short session of requests (verb, path, query, headers, body,
a virtual-time gap before it, and whether the client waits for the answer before
sending the next one) against one ``FakeTelegram``, run on the virtual-time loop
so long polls and held 409s complete. Everything is drawn before the loop starts.

The properties (docs/telegram-rules.md §1, §2):

* nothing escapes: no exception from ``receive``, from a timer, or from the ASGI app;
* every request is answered, either with the JSON envelope, compact, keys in the
  server's order, status == ``error_code`` (200 for ok), ``Retry-After`` iff
  ``parameters.retry_after``, or with one of the bare statuses the HTTP parser
  sends (413, 415, 400 for a broken Content-Encoding, 501 for a verb other than
  GET/POST) and an empty body; no other 5xx is ever bare;
* through the ASGI app, the same session gets byte-for-byte the answers the core
  gives directly, except what only a socket can cause (a body over the size
  limit, a client that hangs up);
* the core never reads the wall clock (``time`` is patched to raise).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

import pytest
from fuzz_harness import check_answer, check_response, no_wall_clock, simulate, through_asgi, through_core
from fuzz_strategies import Request, asgi_sessions, sessions
from hypothesis import given

from fake_telegram import FakeTelegram
from fake_telegram.core.envelope import Response
from simbot.sim import run
from tests.tokens import TOKEN

# -- properties ------------------------------------------------------------------


@given(sessions)
def test_core_answers_everything_in_telegram_shape(requests: list[Request]) -> None:
    with no_wall_clock():
        fake, responses = through_core(requests)
    for request, response in zip(requests, responses, strict=True):
        check_response(request, response)
    assert all(e.response is not None for e in fake.log)
    assert len(fake.log) == sum(not r.control for r in requests)


@given(asgi_sessions)
def test_asgi_app_answers_like_the_core(requests: list[Request]) -> None:
    fake, connections = through_asgi(requests)
    # The same session straight into the core, as far as it got there (a body over the limit: none).
    reached = [r if r.fate == "whole" else dataclasses.replace(r, body=b"") for r in requests]
    lost = frozenset(i for i, r in enumerate(requests) if not r.reaches_core)
    direct_fake, direct = through_core(reached, skip=lost)
    for request, connection, response in zip(requests, connections, direct, strict=True):
        answer = connection.answer()
        if request.fate == "gone":
            assert answer is None, "a client that hung up mid-body got an answer"
            continue
        if answer is None:
            continue
        status, headers, body = answer
        check_answer(request, status, headers, body)
        if response is None:
            assert (status, body) == (413, b""), "a body over the limit"
            continue
        assert (status, body) == (response.status, response.body), (request, status, body, response)
        assert [h for h in headers if h[0] != "content-length"] == [
            h for h in response.headers if h[0] != "content-length"
        ]
    # Server-side, the two runs are the same run: hanging up only marks a request abandoned (§9).
    over_http = [{**e.to_json(), "abandoned_at": None} for e in fake.log]
    assert over_http == direct_fake.log.to_json()
    assert all(e.response is not None for e in fake.log)


# -- the wall clock --------------------------------------------------------------


def test_virtual_loop_never_reads_the_wall_clock() -> None:
    async def main() -> float:
        await asyncio.sleep(3600)
        await asyncio.wait_for(asyncio.sleep(1), timeout=5)
        return asyncio.get_running_loop().time()

    with no_wall_clock():
        assert run(main()) == 3601


def test_core_never_reads_the_wall_clock() -> None:
    """Every timed path on a fixed fake clock, under the virtual loop, with ``time`` patched to raise."""
    now = [1000.0]

    async def main() -> None:
        fake = FakeTelegram(clock=lambda: now[0], seed=7)

        async def call(verb: str, target: str, body: bytes = b"") -> Response:
            exchange = fake.receive(verb, target, {"content-type": "application/json"}, body)
            response = await exchange.reply()
            check_answer(
                Request(verb, target.encode(), b"", (), body, 0, True),
                response.status,
                list(response.headers),
                response.body,
            )
            return response

        def poll(**params: Any) -> asyncio.Task[Response]:
            return asyncio.ensure_future(call("POST", f"/bot{TOKEN}/getUpdates", json.dumps(params).encode()))

        async def status(method: str, query: str = "", body: bytes = b"") -> int:
            return (await call("POST", f"/bot{TOKEN}/{method}{query}", body)).status

        assert await status("getMe") == 200
        assert await status("sendMessage", body=b'{"chat_id":1,"text":"hi"}') == 200
        first = poll(timeout=50)  # a long poll ...
        await asyncio.sleep(0)
        second = poll(timeout=50)  # ... kicked at once by the next ...
        await asyncio.sleep(0)
        third = poll(timeout=5)  # ... which is kicked too, but its 409 is held 3 s
        await asyncio.sleep(0)
        assert (await first).status == 409
        pushed = await call("POST", f"/_fake/bot{TOKEN}/updates", b'{"message":{"text":"hi"}}')
        assert pushed.status == 200  # and it wakes the third poll
        assert [(await p).status for p in (second, third)] == [409, 200]
        assert await status("deleteWebhook", "?drop_pending_updates=true") == 200
        assert (await poll(timeout=2)).result == []  # waits, then times out empty
        assert await status("setWebhook", "?url=https://example.com/hook") == 200
        assert await status("setWebhook", "?url=https://example.com/other") == 429  # once a second
        assert await status("getWebhookInfo") == 200
        assert (await poll()).status == 409  # webhook active
        assert await status("deleteWebhook") == 200
        assert await status("close") == 429  # too young
        now[0] += 700
        assert await status("close") == 200
        assert await status("getMe") == 500  # restarting
        now[0] += 1
        assert await status("close") == 400  # already closed
        assert await status("logOut") == 200
        assert await status("getMe") == 400  # logged out
        now[0] += 2000
        assert await status("getMe") == 200
        assert (await call("GET", f"/_fake/bot{TOKEN}/log")).status == 200

    with no_wall_clock():
        with pytest.raises(AssertionError, match="wall clock"):
            time.monotonic()  # the patch is live
        simulate(main)


# -- bugs the fuzzing found in the core, each kept as its minimal example -----------


def one_session(*requests: Request) -> list[Response]:
    """Run requests through the core and check every answer (§2)."""
    _, responses = through_core(list(requests))
    for request, response in zip(requests, responses, strict=True):
        check_response(request, response)
    return responses


def post(path: str, body: bytes = b"", query: bytes = b"") -> Request:
    return Request("POST", path.encode(), query, (("content-type", "application/json"),), body, 0.0, True)


def test_deeply_nested_allowed_updates_is_ignored_like_any_invalid_value() -> None:
    """Was a RecursionError; §3.1/§7.4: invalid allowed_updates is ignored."""
    [answer] = one_session(post(f"/bot{TOKEN}/getUpdates", query=b"allowed_updates=" + b"[" * 3000))
    assert answer.body == b'{"ok":true,"result":[]}'



def test_deeply_nested_push_is_refused() -> None:
    """Was a RecursionError in the control API."""
    [answer] = one_session(post(f"/_fake/bot{TOKEN}/updates", b"[" * 3000))
    assert answer.status == 400



def test_a_date_that_is_no_unix_time_is_refused() -> None:
    """Was an OverflowError from updates.expiry."""
    [answer] = one_session(post(f"/_fake/bot{TOKEN}/updates", b'{"message":{"date":1' + b"0" * 309 + b"}}"))
    assert answer.status == 400 and b"message.date must be a Unix time" in answer.body



def test_nan_and_infinity_are_refused_so_get_updates_stays_json() -> None:
    """Was queued, then echoed by getUpdates as non-JSON (§2.2)."""
    for body in (b'{"message":{"date":NaN}}', b'{"poll":{"x":Infinity}}', b'{"poll":{"x":1e999}}'):
        pushed, polled = one_session(post(f"/_fake/bot{TOKEN}/updates", body), post(f"/bot{TOKEN}/getUpdates"))
        assert pushed.status == 400 and polled.body == b'{"ok":true,"result":[]}', body

