"""``fake-telegram serve``'s webhooks (docs/telegram-rules.md §12.10): loopback only, real HTTP, events served.

setWebhook under ``loopback_only`` (what serve runs with) takes plain http to a loopback host and
refuses anything else; the HTTP seam (``HttpDeliver``) sends the engine's POST as built and turns
what a real socket gives back into the outcome the engine classifies; ``/_fake/log?kind=webhook``
serves the delivery events. The seam's tests talk to real sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from fake_telegram import Answer, Failure, FakeTelegram, Post
from fake_telegram.core import delivery
from fake_telegram.transports.webhook_http import NOT_CONTACTED, HttpDeliver
from tests.conftest import TOKEN, Api
from tests.fake.webhook_endpoint import Endpoint, message

NOT_LOOPBACK = "Bad Request: bad webhook: fake-telegram serve posts only to a loopback host (127.0.0.0/8, ::1, localhost), not "
NOT_PLAIN = "Bad Request: bad webhook: fake-telegram serve posts plain HTTP only (no TLS): use http://"

# -- setWebhook: loopback only -------------------------------------------------------------

ACCEPTED = ["http://127.0.0.1:8080/hook", "http://localhost:1/x?y=1", "http://[::1]:9/x", "http://127.8.9.10/",
            "HTTP://LocalHost:5/x", "http://user:pw@127.0.0.1:7/x"]  # fmt: skip
REFUSED = [
    ("http://example.com/hook", NOT_LOOPBACK + "example.com"),
    ("https://example.com/hook", NOT_LOOPBACK + "example.com"),  # the hosted rules would take this one
    ("https://149.154.167.99:8443/hook", NOT_LOOPBACK + "149.154.167.99"),
    ("http://0.0.0.0:8080/", NOT_LOOPBACK + "0.0.0.0"),
    ("http://10.0.0.1/", NOT_LOOPBACK + "10.0.0.1"),
    ("http://[2001:db8::1]/x", NOT_LOOPBACK + "[2001:db8::1]"),
    ("http://localhost.example.com/x", NOT_LOOPBACK + "localhost.example.com"),
    ("https://127.0.0.1:8443/x", NOT_PLAIN + "127.0.0.1"),
    ("localhost:8080/x", NOT_PLAIN + "localhost"),  # no scheme: https, as Telegram reads it
    ("https://[::1]/x", NOT_PLAIN + "[::1]"),
    ("ftp://127.0.0.1/x", "Bad Request: invalid webhook URL specified"),
]


@pytest.mark.parametrize("url", ACCEPTED)
def test_s12_10_serve_takes_plain_http_to_a_loopback_host_on_any_port(over, url):
    async def scenario(api: Api) -> None:
        assert (await api.call("setWebhook", url=url)).description == "Webhook was set"
        assert (await api.call("getWebhookInfo")).result["url"] == url

    over(scenario, loopback_only=True)


@pytest.mark.parametrize(("url", "description"), REFUSED)
def test_s12_10_serve_refuses_every_other_url_at_set_webhook(over, url, description):
    async def scenario(api: Api) -> None:
        await api.push(message(1))
        reply = await api.call("setWebhook", url=url)
        assert (reply.status, reply.description) == (400, description)
        assert (await api.call("getWebhookInfo")).result["url"] == ""

    endpoint = Endpoint()
    fake = over(scenario, loopback_only=True, deliver=endpoint)
    assert endpoint.posts == [] and list(fake.log.webhook) == []  # never contacted


# -- the HTTP seam -------------------------------------------------------------------------

WITHIN = 5.0  # real seconds one POST over loopback may take
Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def post_to(url: str, *, secret: str | None = None) -> Post:
    body = b'{"update_id":1,\n"message":{}}'
    headers = [("Host", url.split("/")[2])]
    if secret:
        headers.append(("X-Telegram-Bot-Api-Secret-Token", secret))
    headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                ("Connection", "keep-alive"), ("Accept-Encoding", "gzip, deflate")]  # fmt: skip
    return Post(TOKEN, url, "/" + url.split("/", 3)[3], tuple(headers), body, 1, 1, 1)


def against(script: Script, *urls: str) -> tuple[list[Answer | Failure], list[bytes]]:
    """POST to each URL (``{port}`` filled in) through a fresh seam; the endpoint runs ``script``."""
    received: list[bytes] = []

    async def main() -> list[Answer | Failure]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            received.append(head + await reader.readexactly(length))
            await script(reader, writer)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        deliver = HttpDeliver()
        try:
            # the seam has no timeout of its own (the engine's 60 s timer cuts a POST): the test bounds each
            return [await asyncio.wait_for(deliver(post_to(url.format(port=port), secret="s3cret")), WITHIN)
                    for url in urls]  # type: ignore[misc]  # fmt: skip
        finally:
            await deliver.aclose()
            server.close()

    return asyncio.run(main()), received


def answering(raw: bytes) -> Script:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(raw)
        await writer.drain()
        writer.close()

    return script


NO_CONTENT = answering(b"HTTP/1.1 204 No Content\r\n\r\n")


def test_s12_10_the_seam_never_contacts_a_url_off_loopback():
    """0.0.0.0 reaches this machine on Linux: without the seam's own check the endpoint would see it."""
    urls = ("http://0.0.0.0:{port}/hook", "https://127.0.0.1:{port}/hook", "http://127.0.0.1:{port}/hook")
    outcomes, received = against(NO_CONTENT, *urls)
    assert outcomes[:2] == [Failure(NOT_CONTACTED)] * 2
    assert outcomes[2] == Answer(204, "No Content", {}, b"", False)
    assert len(received) == 1  # only the loopback http POST arrived


def test_s12_10_the_post_goes_out_as_the_engine_built_it():
    """The request line and headers in the engine's order, nothing added (no User-Agent, no Accept)."""
    outcomes, received = against(NO_CONTENT, "http://localhost:{port}/hook?x=1")
    assert isinstance(outcomes[0], Answer), outcomes
    head, _, body = received[0].partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"POST /hook?x=1 HTTP/1.1", b"Host: localhost:%s" % head.split(b":")[2].split(b"\r")[0],
        b"X-Telegram-Bot-Api-Secret-Token: s3cret", b"Content-Type: application/json", b"Content-Length: 29",
        b"Connection: keep-alive", b"Accept-Encoding: gzip, deflate",
    ]  # fmt: skip
    assert body == b'{"update_id":1,\n"message":{}}'


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [(b"HTTP/1.1 403 Request had the wrong secret token\r\nContent-Length: 0\r\n\r\n",
      Answer(403, "Request had the wrong secret token", {"content-length": "0"}, b"", False)),
     (b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\n\r\nUnauthorized",
      Answer(401, "Unauthorized", {"content-length": "12"}, b"Unauthorized", False)),
     (b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n",
      Answer(302, "Found", {"location": "http://127.0.0.1:1/", "content-length": "0"}, b"", False)),
     (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
      Answer(503, "Service Unavailable", {"retry-after": "7", "connection": "close", "content-length": "0"}, b"", True)),
     (b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"method":"sendMessage"}',
      Answer(200, "OK", {"content-type": "application/json"}, b'{"method":"sendMessage"}', True))],
)  # fmt: skip
def test_s12_10_any_answer_is_handed_back_with_its_reason_phrase_headers_and_body(raw, outcome):
    """Redirects are not followed; HTTP/1.0 or ``Connection: close`` ends the connection."""
    outcomes, _ = against(answering(raw), "http://127.0.0.1:{port}/hook")
    assert outcomes == [outcome]


async def _close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.mark.parametrize(("script", "error"), [(_close, None), (_reset, "Connection reset by peer")])
def test_s12_10_a_connection_lost_without_an_answer_is_a_failure_with_the_system_text(script, error):
    """A clean close carries no text (last_error_message stays); a reset, the strerror text td stores."""
    outcomes, received = against(script, "http://127.0.0.1:{port}/hook")
    assert len(received) == 1 and outcomes == [Failure(error)]


def test_s12_10_a_refused_connection_is_connection_refused():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: the connection is refused

        async def main() -> Answer | Failure:
            deliver = HttpDeliver()
            try:
                return await deliver(post_to(f"http://127.0.0.1:{port}/hook"))  # type: ignore[return-value]
            finally:
                await deliver.aclose()

        assert asyncio.run(main()) == Failure("Connection refused")


# -- /_fake/log?kind=webhook ---------------------------------------------------------------


def test_s12_10_the_log_endpoint_serves_the_webhook_events_paged_and_masked(over):
    secret = TOKEN.partition(":")[2]
    url = f"http://user:pw@127.0.0.1:8080/{secret}"
    endpoint = Endpoint()

    async def scenario(api: Api) -> None:
        a, b = await api.push(message(1), message(2))
        assert (await api.call("setWebhook", url=url)).description == "Webhook was set"
        while len(endpoint.finished) < 2:
            await api.sleep(0.01)
        await api.sleep(0.01)
        page = (await api.client.get("/_fake/log", params={"kind": "webhook"})).json()
        assert [(e["seq"], e["event"], e["update_id"]) for e in page["result"]] == [
            (0, "deliver", a), (1, "ack", a), (2, "deliver", b), (3, "ack", b)]  # fmt: skip
        assert (page["next_offset"], page["dropped"]) == (None, 0)
        first = page["result"][0]
        assert first["token"] == "123456:***" and first["url"] == "http://user:***@127.0.0.1:8080/***"
        assert (first["attempt"], first["connection"]) == (1, 1)
        text = page.__repr__() + (await api.client.get(f"/_fake/bot{TOKEN}/log?kind=webhook")).text
        assert secret not in text and "pw" not in text
        one = (
            await api.client.get(
                f"/_fake/bot{TOKEN}/log", params={"kind": "webhook", "offset": 1, "limit": 2}
            )
        ).json()
        assert [e["seq"] for e in one["result"]] == [1, 2] and one["next_offset"] == 3
        requests = (await api.client.get("/_fake/log", params={"kind": "requests"})).json()["result"]
        assert [e["method"] for e in requests] == ["setWebhook"]  # the POSTs it made are not requests it got
        bad = await api.client.get("/_fake/log", params={"kind": "posts"})
        assert (bad.status_code, bad.json()["description"]) == (
            400, "Bad Request: kind must be 'requests' or 'webhook', got 'posts'")  # fmt: skip

    over(scenario, loopback_only=True, deliver=endpoint)


def test_s12_10_a_proxy_in_the_environment_never_carries_a_post(monkeypatch):
    """An HTTP_PROXY set for the bots' own traffic must not take the server's POSTs anywhere."""
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead.getsockname()[1]}")
        monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{dead.getsockname()[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        outcomes, received = against(NO_CONTENT, "http://127.0.0.1:{port}/hook")
    assert outcomes == [Answer(204, "No Content", {}, b"", False)] and len(received) == 1


def test_s12_10_a_bounded_log_pages_the_newest_webhook_events_and_counts_the_rest(in_process):
    """serve keeps the newest N (``--log-entries``) of the events too; seq still counts every one."""
    endpoint = Endpoint()

    async def scenario(api: Api) -> None:
        await api.push(message(1), message(2))
        await api.call("setWebhook", url="http://127.0.0.1:8080/hook")
        while len(endpoint.finished) < 2:
            await api.sleep(0.01)
        await api.sleep(0.01)
        page = (await api.client.get("/_fake/log", params={"kind": "webhook"})).json()
        assert ([e["seq"] for e in page["result"]], page["dropped"]) == ([1, 2, 3], 1)
        page = (await api.client.get("/_fake/log", params={"kind": "webhook", "offset": 3})).json()
        assert [e["seq"] for e in page["result"]] == [3]

    in_process(scenario, loopback_only=True, deliver=endpoint, log_entries=3)


# -- the engine and the seam together, in real time ----------------------------------------


@dataclass
class Hanging:
    """An endpoint that reads the POST and never answers: when it arrived, when the server hung up."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    cut: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        self.arrived.set()
        while await reader.read(1024):  # the body, then nothing until the server closes the connection
            pass
        self.cut.set()


def run_real_time(scenario: Callable[[FakeTelegram, str, Hanging], Awaitable[None]]) -> None:
    """A FakeTelegram on the real clock with serve's seam, POSTing to a ``Hanging`` endpoint."""

    async def main() -> None:
        handle = Hanging()
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        deliver = HttpDeliver()
        fake = FakeTelegram(clock=time.monotonic, deliver=deliver, loopback_only=True)
        try:
            await scenario(fake, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook", handle)
        finally:
            await deliver.aclose()
            server.close()

    asyncio.run(main())


def call(fake: FakeTelegram, method: str, **params: str) -> dict[str, Any]:
    body = "&".join(f"{k}={v}" for k, v in params.items()).encode()
    exchange = fake.receive(
        "POST", f"/bot{TOKEN}/{method}", {"content-type": "application/x-www-form-urlencoded"}, body
    )
    assert exchange.response is not None
    return json.loads(exchange.response.body)


async def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WITHIN
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


def test_s12_10_no_answer_in_time_is_a_read_timeout_and_the_socket_is_closed(monkeypatch):
    """The engine's timer (60 s, here 0.3 s) cancels the POST; the endpoint sees the server hang up."""
    monkeypatch.setattr(delivery, "POST_TIMEOUT", 0.3)

    async def scenario(fake: FakeTelegram, url: str, endpoint: Hanging) -> None:
        fake.push(TOKEN, message(1))
        assert call(fake, "setWebhook", url=url)["description"] == "Webhook was set"
        await until(lambda: any(e.event == "fail" for e in fake.log.webhook), "the timeout")
        fail = next(e for e in fake.log.webhook if e.event == "fail")
        assert (fail.error, fail.status) == ("Read timeout expired", None)
        assert call(fake, "getWebhookInfo")["result"]["last_error_message"] == "Read timeout expired"
        await asyncio.wait_for(endpoint.cut.wait(), WITHIN)

    run_real_time(scenario)


def test_s12_10_a_webhook_change_cuts_the_post_in_flight_and_closes_its_socket():
    async def scenario(fake: FakeTelegram, url: str, endpoint: Hanging) -> None:
        fake.push(TOKEN, message(1))
        assert call(fake, "setWebhook", url=url)["description"] == "Webhook was set"
        await asyncio.wait_for(endpoint.arrived.wait(), WITHIN)  # the cut must close a live connection
        assert call(fake, "deleteWebhook")["description"] == "Webhook was deleted"
        await asyncio.wait_for(endpoint.cut.wait(), WITHIN)
        assert [e.event for e in fake.log.webhook] == ["deliver", "abort"]

    run_real_time(scenario)
