"""Real HTTP: an ASGI app (served by uvicorn) in front of the core.

A client that disconnects during a long poll frees nothing: its request stays in
the slot as a ghost (docs/telegram-rules.md §9); the log marks it abandoned. The
``X-Fake-Caller`` header names the caller where no context variable can travel.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import quote

from ..core import FakeTelegram
from ..core.envelope import Response, bare
from ..core.wire import MAX_BODY

_PATH_SAFE = "/:@!$&'()*+,;=~"  # kept as is; '%', '?', '#' and non-ASCII are escaped again
log = logging.getLogger("fake_telegram")
_TOKEN_IN_PATH = re.compile(r"^((?:/_fake)?/bot[^/:?#]*:)[^/?#]*")

Scope = dict[str, Any]


def asgi_app(fake: FakeTelegram):  # type: ignore[no-untyped-def]
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        body, outcome = await _read_body(receive)
        if outcome == "gone":  # hung up before the request was whole: the server never saw one
            return
        if outcome == "too large" and scope["method"] in ("GET", "POST"):
            await _send(send, bare(413))
            return  # (any other verb gets its 501 from the request line, before the body: §1.2)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_path = scope.get("raw_path")  # optional in ASGI; "path" is already percent-decoded
        target = raw_path.decode("latin-1") if raw_path else quote(scope["path"], safe=_PATH_SAFE)
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        exchange = fake.receive(scope["method"], target, headers, body, who=headers.get("x-fake-caller"))
        response = exchange.response
        if response is None:
            waiting = asyncio.ensure_future(exchange.reply(None, fake.clock))
            gone = asyncio.ensure_future(_disconnected(receive))
            await asyncio.wait((waiting, gone), return_when=asyncio.FIRST_COMPLETED)
            gone.cancel()
            if not waiting.done():
                waiting.cancel()  # marks the exchange abandoned; the server side stays
                return
            response = waiting.result()
        log.info(
            "%s %s %s -> %d (%s)",
            exchange.caller,
            scope["method"],
            _masked(target),
            response.status,
            response.description or "ok",
        )
        await _send(send, response)

    return app


async def _read_body(receive: Any) -> tuple[bytes, str]:
    """The whole body and "whole"; or "too large", or "gone" if the client hung up first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"", "gone"
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b"", "too large"
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), "whole"


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _send(send: Any, response: Response) -> None:
    headers = [(k.encode(), v.encode()) for k, v in response.headers if k != "content-length"]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


def _masked(target: str) -> str:
    """Log lines never carry a bot's secret: not in /bot<token>/… nor in /_fake/bot<token>/…."""
    return _TOKEN_IN_PATH.sub(r"\1***", target)
