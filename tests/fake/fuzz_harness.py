"""Checking answers and driving the core and the ASGI app with generated requests."""


from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections import deque
from collections.abc import Iterator
from typing import Any
from unittest import mock
from urllib.parse import unquote

from fuzz_strategies import ASGI_MAX_BODY, BARE_STATUSES, HORIZON, Request

from fake_telegram import FakeTelegram, asgi_app
from fake_telegram.core.envelope import Response
from fake_telegram.transports import asgi
from simbot.sim import run

# -- checks ----------------------------------------------------------------------

_SANCTIONED_NEWLINE = re.compile(r'(\{"update_id":-?[0-9]+,)\n')  # WebhookActor.h:226-237 (§2.2)


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"not JSON: {name}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys {keys}"
    return dict(pairs)


def assert_compact(text: str) -> None:
    """No whitespace between tokens outside strings, but the one newline of §2.2."""
    text = _SANCTIONED_NEWLINE.sub(r"\1", text)
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        else:
            assert ch not in " \t\r\n", f"whitespace at {i} in {text[max(0, i - 40) : i + 40]!r}"


def check_answer(request: Request, status: int, headers: list[tuple[str, str]], body: bytes) -> Any:
    """The answer is a documented bare status or the JSON envelope (§1.2, §1.3, §2); its JSON or None."""
    names = [k for k, _ in headers]
    assert names == [k.lower() for k in names], names
    assert len(names) == len(set(names)), f"duplicate headers {names}"
    fields = dict(headers)
    api_verb = request.verb in ("GET", "POST")
    if not request.control and not api_verb:
        assert (status, body) == (501, b""), f"verb {request.verb!r} got {status} {body[:200]!r}"
    if not body:
        assert status in BARE_STATUSES, f"bare {status}"
        assert fields == {"content-length": "0", "connection": "close"}, fields
        assert status != 501 or not api_verb, "501 for GET/POST"
        assert status != 415 or request.encoding not in ("identity", "", "gzip", "deflate"), request.encoding
        assert status != 400 or _may_be_bare_400(request), "bare 400 without a broken encoding, multipart or length"
        assert status != 413 or request.body, "413 without a body"
        return None
    text = body.decode("utf-8")
    value = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    assert isinstance(value, dict), value
    keys = list(value)
    if value.get("ok") is True:
        pages = [["ok", "result", "next_offset", "dropped"]] if request.control else []
        assert keys in (["ok", "result"], ["ok", "result", "description"], *pages), keys
        assert status == 200, status
    else:
        assert keys in (
            ["ok", "error_code", "description"],
            ["ok", "error_code", "description", "parameters"],
        ), keys
        assert value["ok"] is False
        code = value["error_code"]
        assert type(code) is int and 400 <= code <= 599, code
        assert status == code, (status, code)
        assert isinstance(value.get("parameters", {}), dict), value
    assert "description" not in value or isinstance(value["description"], str), value
    assert_compact(text)
    assert fields.get("content-type") == "application/json", fields
    assert fields.get("connection") == "keep-alive", fields
    retry_after = value.get("parameters", {}).get("retry_after")
    if retry_after is None:
        assert "retry-after" not in fields, fields
        assert status != 429, "a 429 without parameters.retry_after (§2.2)"
    else:
        assert type(retry_after) is int and fields.get("retry-after") == str(retry_after), (value, fields)
    return value


def _may_be_bare_400(request: Request) -> bool:
    """§1.3: an undecodable gzip body, malformed multipart, or a body shorter than its Content-Length."""
    fields = dict(request.headers)
    declared = fields.get("content-length", "").strip()
    return (
        request.encoding in ("gzip", "deflate")
        or "multipart/form-data" in fields.get("content-type", "").lower()
        or (declared.isdigit() and int(declared) > len(request.body))
    )


def check_response(request: Request, response: Response) -> None:
    value = check_answer(request, response.status, list(response.headers), response.body)
    if value is not None:
        assert response.description == value.get("description"), (response.description, value)
        assert response.retry_after == value.get("parameters", {}).get("retry_after"), response
    else:
        assert response.bare


@contextlib.contextmanager
def no_wall_clock() -> Iterator[None]:
    """Reading the wall clock (or the monotonic one) raises."""

    def forbidden(*args: Any) -> Any:
        raise AssertionError("the wall clock was read")

    names = ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns")
    with contextlib.ExitStack() as stack:
        for name in names:
            stack.enter_context(mock.patch(f"time.{name}", forbidden))
        yield


def simulate(main: Any) -> Any:
    """``run(main())`` on the virtual loop; any exception a callback raised fails the run."""
    errors: list[dict[str, Any]] = []

    async def wrapped() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
        return await main()

    try:
        result = run(wrapped(), horizon=HORIZON)
    except BaseException as exc:
        if errors:
            raise AssertionError(f"exceptions in loop callbacks: {errors}") from exc
        raise
    assert not errors, f"exceptions in loop callbacks: {errors}"
    return result


# -- drivers ---------------------------------------------------------------------


async def session(requests: list[Request], client: Any) -> list[Any]:
    """Send each request after its gap, as its own task; wait for the answer if asked to."""
    tasks: list[asyncio.Future[Any]] = []
    for index, request in enumerate(requests):
        await asyncio.sleep(request.gap)
        task = asyncio.ensure_future(client(index, request))
        await asyncio.sleep(0)  # it reaches the server now, before the next one
        if request.wait:  # until the answer, or until this client hangs up (then it has none to wait for)
            await asyncio.wait([task], timeout=request.hang_up)
        tasks.append(task)
    return [await task for task in tasks]


def through_core(
    requests: list[Request], skip: frozenset[int] = frozenset()
) -> tuple[FakeTelegram, list[Any]]:
    """Each request straight into ``receive``; those at ``skip`` only keep their time (their answer: None)."""

    async def main() -> tuple[FakeTelegram, list[Any]]:
        fake = FakeTelegram()

        async def client(index: int, request: Request) -> Response | None:
            if index in skip:
                return None
            headers = dict(request.headers)
            who = headers.get("x-fake-caller")  # as the ASGI app reads it
            exchange = fake.receive(request.verb, request.target, headers, request.body, who=who)
            response = await exchange.reply()
            assert exchange.response is response
            if not request.control:
                assert fake.log[exchange.id] is exchange
            assert exchange.answered_at is not None and exchange.answered_at >= exchange.at
            return response

        return fake, await session(requests, client)

    return simulate(main)


class AsgiClient:
    """One request over a hand-rolled ASGI connection: scope, receive and send."""

    def __init__(self, request: Request):
        self.request = request
        body = request.body
        cuts = [0, *request.splits, len(body)]
        chunks = [body[a:b] for a, b in itertools.pairwise(cuts)]
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]
        if request.cut:
            messages = [{**m, "more_body": True} for m in messages[:-1]]
        self.incoming = deque(messages)
        self.sent: list[dict[str, Any]] = []
        self.hung_up = request.cut

    def scope(self) -> dict[str, Any]:
        raw_path, _, query = self.request.request_target.partition(b"?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": self.request.verb,
            "scheme": "http",
            "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.request.headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8081),
        }
        if self.request.no_raw_path:
            del scope["raw_path"]
        return scope

    async def receive(self) -> dict[str, Any]:
        if self.incoming:
            return self.incoming.popleft()
        if not self.hung_up:
            if self.request.hang_up is None:
                await asyncio.get_running_loop().create_future()  # the client waits for ever
            else:
                await asyncio.sleep(self.request.hang_up)
            self.hung_up = True
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def answer(self) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """The response sent, checked for ASGI form; None if nothing was sent."""
        if not self.sent:
            assert self.hung_up, "no answer to a client that kept waiting"
            return None
        start, *rest = self.sent
        assert start["type"] == "http.response.start", self.sent
        assert [m["type"] for m in rest] == ["http.response.body"], self.sent
        assert not rest[0].get("more_body", False)
        body = rest[0].get("body", b"")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
        assert dict(headers).get("content-length") == str(len(body)), headers
        return start["status"], headers, body


def through_asgi(requests: list[Request]) -> tuple[FakeTelegram, list[AsgiClient]]:
    async def main() -> tuple[FakeTelegram, list[AsgiClient]]:
        fake = FakeTelegram()
        app = asgi_app(fake)

        async def client(index: int, request: Request) -> AsgiClient:
            connection = AsgiClient(request)
            before = len(fake.log)
            await app(connection.scope(), connection.receive, connection.send)
            if not request.reaches_core:
                assert len(fake.log) == before
            return connection

        connections = await session(requests, client)
        await asyncio.sleep(60)  # polls whose client hung up stay pending, ghosts, until they time out (§9)
        return fake, connections

    with mock.patch.object(asgi, "MAX_BODY", ASGI_MAX_BODY):
        return simulate(main)


