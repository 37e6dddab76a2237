"""In process over httpx: a transport, and a respx mount for clients we do not build.

In-memory transports ignore client timeouts, so the request's own read timeout
(``request.extensions["timeout"]["read"]``) is enforced here, in loop time: the
client gets ``httpx.ReadTimeout`` and the server-side poll stays, a ghost.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import respx

from ..core import FakeTelegram, Response

API_URL = "https://api.telegram.org"


class FakeTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose far end is the fake; for clients you construct."""

    def __init__(self, fake: FakeTelegram):
        self.fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await forward(self.fake, request)


async def forward(fake: FakeTelegram, request: httpx.Request) -> httpx.Response:
    exchange = fake.receive(*await parts(request))
    timeout = read_timeout(request)
    try:
        response = await exchange.reply(timeout, fake.clock)
    except TimeoutError:
        raise httpx.ReadTimeout(f"fake Telegram: no answer within {timeout} s", request=request) from None
    return to_httpx(response, request)


async def parts(request: httpx.Request) -> tuple[str, str, dict[str, str], bytes]:
    """What the fake's ``receive`` takes: verb, target, lower-case headers, body."""
    body = await request.aread()
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw}
    return request.method, request.url.raw_path.decode("ascii"), headers, body


def read_timeout(request: httpx.Request) -> float | None:
    return (request.extensions.get("timeout") or {}).get("read")


def to_httpx(response: Response, request: httpx.Request) -> httpx.Response:
    return httpx.Response(response.status, headers=list(response.headers), content=response.body, request=request)


def mount(router: respx.MockRouter, fake: FakeTelegram, base_url: str = API_URL) -> respx.Route:
    """Route ``base_url``'s requests to the fake; everything else stays unmocked (and so fails)."""

    async def side_effect(request: httpx.Request) -> httpx.Response:
        return await forward(fake, request)

    return router.route(url__startswith=base_url.rstrip("/") + "/").mock(side_effect=side_effect)


@contextmanager
def mocked(fake: FakeTelegram, base_url: str = API_URL) -> Iterator[respx.MockRouter]:
    """Every httpx client in the process talks to the fake; no request reaches the network."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        mount(router, fake, base_url)
        yield router
