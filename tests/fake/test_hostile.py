"""The fake under hostile clients: gzip bombs, huge parameters, log readers, slow senders.

Memory is measured with tracemalloc (allocations, not RSS: deterministic and fast);
the slow-client tests run real sockets on loopback with short deadlines.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import uvicorn

from fake_telegram import FakeTelegram, asgi_app
from fake_telegram.core.control import MAX_PAGE
from fake_telegram.core.log import MAX_LOGGED_CHARS, MAX_LOGGED_VALUE, logged
from fake_telegram.core.wire import MAX_PARAMS_BYTES, inflate
from fake_telegram.transports.timeouts import timed_protocol
from simbot.sim import run
from tests.conftest import OTHER_TOKEN, TOKEN, Api

FORM = {"content-type": "application/x-www-form-urlencoded"}


def bomb(size: int, prefix: bytes = b"text=") -> bytes:
    """A gzip body that inflates to ``size`` bytes (rounded to MiB), built in milliseconds.

    After a full flush the compressor forgets its history, so each MiB of zeros compresses to
    the same ~1 KB block: the block is repeated. The trailer's checksum is left out; no
    server should read that far.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(b"0" * (1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    return head + block * (size >> 20)


# -- gzip bombs ----------------------------------------------------------------------


def test_a_gzip_bomb_is_refused_after_inflating_at_most_the_limit_plus_one_byte():
    body = bomb(64 << 20)
    assert len(body) < 100_000
    fake = FakeTelegram(clock=lambda: 0.0)
    tracemalloc.start()
    try:
        exchange = fake.receive("POST", f"/bot{TOKEN}/sendMessage", {**FORM, "content-encoding": "gzip"}, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (exchange.response.status, exchange.response.body) == (413, b"")
    assert peak < 4 * MAX_PARAMS_BYTES, f"inflating a bomb allocated {peak / 2**20:.1f} MiB"


def test_the_1_mib_rule_applies_to_the_inflated_body(over):
    async def scenario(api: Api) -> None:
        headers = {**FORM, "content-encoding": "gzip"}
        url = f"/bot{TOKEN}/setMyDescription"
        over_limit = zlib.compress(b"description=" + b"x" * MAX_PARAMS_BYTES, wbits=31)
        reply = await api.send(api.client.build_request("POST", url, content=over_limit, headers=headers))
        assert (reply.status, reply.raw) == (413, b"")
        under = zlib.compress(b"description=" + b"x" * (MAX_PARAMS_BYTES - 100), wbits=31)
        assert (await api.send(api.client.build_request("POST", url, content=under, headers=headers))).status == 200

    over(scenario)


def test_inflate_stops_at_the_limit_and_tells_undecodable_from_too_large():
    assert len(inflate(bomb(8 << 20), gzip=True, limit=1000) or b"") == 1001
    assert inflate(zlib.compress(b"abc"), gzip=False, limit=3) == b"abc"
    raw = zlib.compressobj(6, zlib.DEFLATED, -15)
    assert inflate(raw.compress(b"raw") + raw.flush(), gzip=True, limit=10) == b"raw"  # raw deflate, tried last
    assert inflate(b"not compressed", gzip=True, limit=10) is None
    assert inflate(zlib.compress(b"abcdef" * 10, wbits=31)[:-8][:20], gzip=True, limit=1000) is None  # cut short


def test_a_gzip_bomb_over_real_http_is_answered_413_at_once(over):
    async def scenario(api: Api) -> None:
        body = bomb(512 << 20)  # the audit's 0.5 MB body inflating to 512 MB
        headers = {**FORM, "content-encoding": "gzip"}
        reply = await api.send(api.client.build_request("POST", f"/bot{TOKEN}/sendMessage", content=body, headers=headers))
        assert (reply.status, reply.raw) == (413, b"")

    over(scenario)


# -- the request log: bounded values, bounded entries ------------------------------


def test_huge_parameter_values_are_logged_truncated_and_say_so(over):
    async def scenario(api: Api) -> None:
        text = "x" * 900_000
        assert (await api.call("sendMessage", chat_id="1", text=text)).description == "Bad Request: message is too long"
        assert (await api.call("sendMessage", chat_id="1", text="y" * MAX_LOGGED_VALUE)).status == 200

    fake = over(scenario)
    big, whole = fake.log
    assert big.params["text"] == "x" * MAX_LOGGED_VALUE + "…[truncated: 900000 characters]"
    assert big.params["chat_id"] == "1"
    assert whole.params["text"] == "y" * MAX_LOGGED_VALUE  # the longest real message text is kept whole


def test_two_hundred_900_kb_requests_leave_a_small_log():
    async def main() -> None:
        fake = FakeTelegram()
        body = b"chat_id=1&text=" + b"x" * 900_000
        tracemalloc.start()
        try:
            for _ in range(200):
                fake.receive("POST", f"/bot{TOKEN}/sendMessage", FORM, body)
            kept, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert len(fake.log) == 200 and all(e.status == 400 for e in fake.log)  # every entry kept in process
        assert kept < 5 << 20, f"the log kept {kept / 2**20:.1f} MiB for 200 requests"

    run(main())


def test_many_parameters_are_logged_up_to_a_budget_and_counted():
    values = {f"k{i}": "v" * 1000 for i in range(100)}
    kept = logged(values)
    assert sum(len(k) + len(v) for k, v in kept.items()) <= MAX_LOGGED_CHARS + 200
    assert kept["…"].endswith("more parameters not logged]")
    assert logged({"k" * 1000: "v"}) == {"k" * 256 + "…[truncated: 1000 characters]": "v"}
    assert logged({"offset": "5", "timeout": "30"}) == {"offset": "5", "timeout": "30"}


def test_a_bounded_log_keeps_the_newest_entries_counts_the_dropped_and_keeps_ids():
    async def main() -> None:
        fake = FakeTelegram(log_entries=3)
        for i in range(5):
            fake.receive("POST", f"/bot{TOKEN}/sendMessage", FORM, b"chat_id=1&text=%d" % i)
        assert [e.id for e in fake.log] == [2, 3, 4] and fake.log.dropped == 2
        assert fake.log[4].params["text"] == "4" and fake.log[-1] is fake.log[4]
        with pytest.raises(IndexError, match="request 1 was dropped"):
            fake.log[1]
        assert [e.params["text"] for e in fake.outbox(TOKEN)] == ["2", "3", "4"]  # the outbox is as bounded
        unbounded = FakeTelegram()
        for _ in range(5):
            unbounded.receive("GET", f"/bot{TOKEN}/getMe")
        assert len(unbounded.log) == 5 and unbounded.log.dropped == 0

    run(main())
    with pytest.raises(ValueError, match="max_entries"):
        FakeTelegram(log_entries=0)


# -- GET /_fake/log: paged, masked --------------------------------------------------


def test_the_log_is_served_in_pages_that_chain_to_the_end(over):
    async def scenario(api: Api) -> None:
        for _ in range(5):
            await api.call("getMe")
            await api.call("getMe", token=OTHER_TOKEN)
        first = (await api.client.get("/_fake/log", params={"limit": 4})).json()
        assert [e["id"] for e in first["result"]] == [0, 1, 2, 3] and first["next_offset"] == 4
        assert first["dropped"] == 0
        seen, offset = [], 0
        while offset is not None:
            page = (await api.client.get(f"/_fake/bot{TOKEN}/log", params={"offset": offset, "limit": 2})).json()
            seen += [e["id"] for e in page["result"]]
            offset = page["next_offset"]
        assert seen == [0, 2, 4, 6, 8]
        beyond = (await api.client.get("/_fake/log", params={"offset": 10**30})).json()
        assert (beyond["result"], beyond["next_offset"]) == ([], None)
        whole = (await api.client.get("/_fake/log")).json()
        assert len(whole["result"]) == 10 and whole["next_offset"] is None

    over(scenario)


@pytest.mark.parametrize(
    ("query", "description"),
    [({"limit": MAX_PAGE + 1}, f"Bad Request: limit must be 1..{MAX_PAGE}, got '{MAX_PAGE + 1}'"),
     ({"limit": 0}, f"Bad Request: limit must be 1..{MAX_PAGE}, got '0'"),
     ({"offset": "-1"}, "Bad Request: offset must be an integer >= 0, got '-1'"),
     ({"offset": "x"}, "Bad Request: offset must be an integer >= 0, got 'x'")],
)  # fmt: skip
def test_bad_page_parameters_get_a_400_naming_them(over, query, description):
    async def scenario(api: Api) -> None:
        reply = await api.client.get("/_fake/log", params=query)
        assert reply.status_code == 400 and reply.json()["description"] == description

    over(scenario)


def test_the_served_log_never_shows_a_bot_secret(over):
    async def scenario(api: Api) -> None:
        await api.call("getMe")
        await api.call("getMe", token="42:" + "S" * 30)
        await api.call("getMe", token="nocolon")
        text = (await api.client.get("/_fake/log")).text + (await api.client.get(f"/_fake/bot{TOKEN}/log")).text
        assert TOKEN.partition(":")[2] not in text and "S" * 30 not in text
        assert '"token":"123456:***"' in text and '"token":"42:***"' in text

    fake = over(scenario)
    assert fake.log[0].token == TOKEN  # in process the evidence keeps the whole token


def test_a_large_log_page_is_quick_and_the_server_stays_responsive():
    """3,000 requests that each fill the per-request log budget, then the whole log page by page."""

    async def main() -> None:
        fake = FakeTelegram(clock=time.monotonic, log_entries=10_000)
        body = "&".join(f"p{i}={'x' * 2000}" for i in range(10)).encode()
        for _ in range(3000):
            fake.receive("POST", f"/bot{TOKEN}/setMyDescription", FORM, body)
        worst, offset, rows = 0.0, 0, 0
        while offset is not None:
            started = time.perf_counter()
            page = fake.receive("GET", f"/_fake/log?offset={offset}&limit={MAX_PAGE}").response
            worst = max(worst, time.perf_counter() - started)
            rows += len(page.result)
            offset = __import__("json").loads(page.body)["next_offset"]
        assert rows == 3000
        assert worst < 1.0, f"a page took {worst:.2f} s"  # generous: a 2-core CI box; typically ~0.05 s

    asyncio.run(main())


# -- slow clients over loopback -----------------------------------------------------


def with_server(test: Callable[[int, FakeTelegram], Awaitable[None]], timeout: float = 0.3) -> FakeTelegram:
    fake = FakeTelegram(clock=time.monotonic, epoch=time.time() - time.monotonic(), log_entries=100)

    async def main() -> None:
        config = uvicorn.Config(
            asgi_app(fake), host="127.0.0.1", port=0, lifespan="off", log_level="error",
            http=timed_protocol(timeout, timeout), timeout_graceful_shutdown=0.1,
        )  # fmt: skip
        server = uvicorn.Server(config)
        serving = asyncio.ensure_future(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            await test(server.servers[0].sockets[0].getsockname()[1], fake)
        finally:
            server.should_exit = True
            await serving

    asyncio.run(main())
    return fake


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sent before closing (a reset counts as closed); fails if it stays open that long."""
    try:
        return await asyncio.wait_for(reader.read(), seconds)
    except ConnectionError:  # reset, or a broken pipe seen by our last write
        return b""


HALF_HEADERS = b"POST /bot" + TOKEN.encode() + b"/getMe HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize(
    "sent",
    [b"", HALF_HEADERS, HALF_HEADERS + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":"],
    ids=["nothing", "half the headers", "half the body"],
)
def test_a_half_sent_request_is_closed_after_its_deadline(sent):
    async def test(port: int, fake: FakeTelegram) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(sent)
        started = time.monotonic()
        assert await closed_within(reader, 3.0) == b""  # closed without an answer
        assert 0.25 <= time.monotonic() - started < 3.0
        writer.close()

    fake = with_server(test)
    assert len(fake.log) == 0  # the request never arrived whole: nothing to judge


def test_trickling_a_byte_at_a_time_does_not_extend_the_deadline():
    async def test(port: int, fake: FakeTelegram) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        try:
            for byte in HALF_HEADERS * 10:  # 0.9 s of trickling at least, three times the deadline
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.01)
        except ConnectionError:
            pass  # closed under our feet: the deadline held
        assert await closed_within(reader, 3.0) == b""
        assert time.monotonic() - started < 2.0
        writer.close()

    with_server(test)


def test_whole_requests_are_never_timed_a_long_poll_outlives_the_deadlines():
    async def test(port: int, fake: FakeTelegram) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            started = time.monotonic()
            reply = await client.post(f"/bot{TOKEN}/getUpdates", data={"timeout": "1"})
            assert reply.json() == {"ok": True, "result": []} and time.monotonic() - started >= 0.95
            await asyncio.sleep(0.1)  # keep-alive: the next request on the same connection still works
            assert (await client.get(f"/bot{TOKEN}/getMe")).status_code == 200

    fake = with_server(test)
    assert [e.method for e in fake.log] == ["getUpdates", "getMe"]


def test_many_slow_connections_are_all_released():
    async def test(port: int, fake: FakeTelegram) -> None:
        pairs = [await asyncio.open_connection("127.0.0.1", port) for _ in range(200)]
        for _, writer in pairs:
            writer.write(HALF_HEADERS)
        results: list[Any] = await asyncio.gather(*(closed_within(r, 5.0) for r, _ in pairs))
        assert results == [b""] * 200
        for _, writer in pairs:
            writer.close()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get(f"/bot{TOKEN}/getMe")).status_code == 200

    with_server(test)


def test_timed_protocol_refuses_a_deadline_that_is_not_positive():
    with pytest.raises(ValueError, match="body_timeout: expected a number of seconds > 0"):
        timed_protocol(1.0, 0.0)
