"""httpx's transport is the seam: while a simulation runs, every httpx client reaches its wire.

A bot builds its own clients (PTB makes two per Application), so the harness cannot
hand them a transport; it takes the place of httpx's default one instead. This used
to be respx, whose routing and call recording (never read here) cost about 40% of a
request. Inside a run the default transports are hollow: no connection pool, no TLS
context, no proxies read from the harness's own environment (an instance's
environment is its ``InstanceContext.env``). A request for the Bot API goes to the
wire; any other URL is a finding and a connection error, as a raw socket is. A
blocking (sync) client would stall every instance on the loop, so it is refused too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import httpx._client

from .loop import VirtualLoop

API_HOST = "api.telegram.org"


@contextmanager
def routed_to(wire: Callable[[httpx.Request], Awaitable[httpx.Response]], loop: VirtualLoop) -> Iterator[None]:
    """Route the Bot API's requests from every httpx client to ``wire`` while inside."""

    async def handle_async_request(transport: Any, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.host == API_HOST and url.scheme == "https":
            return await wire(request)
        raise _refused(loop, f"HTTP request to {url.scheme}://{url.host}", request)

    def handle_request(transport: Any, request: httpx.Request) -> httpx.Response:
        raise _refused(loop, f"blocking HTTP request to {request.url.host}", request)

    async def nothing_async(transport: Any, *args: Any) -> Any:
        return transport

    def nothing(transport: Any, *args: Any, **kwargs: Any) -> Any:
        return None

    with ExitStack() as stack:
        for owner, name, value in (
            (httpx.AsyncHTTPTransport, "__init__", nothing),
            (httpx.AsyncHTTPTransport, "handle_async_request", handle_async_request),
            (httpx.AsyncHTTPTransport, "__aenter__", nothing_async),
            (httpx.AsyncHTTPTransport, "__aexit__", nothing_async),
            (httpx.AsyncHTTPTransport, "aclose", nothing_async),
            (httpx.HTTPTransport, "__init__", nothing),
            (httpx.HTTPTransport, "handle_request", handle_request),
            (httpx.HTTPTransport, "__enter__", lambda transport: transport),
            (httpx.HTTPTransport, "__exit__", nothing),
            (httpx.HTTPTransport, "close", nothing),
            (httpx._client, "get_environment_proxies", dict),
        ):
            stack.enter_context(_replaced(owner, name, value))
        yield


@contextmanager
def _replaced(owner: Any, name: str, value: Any) -> Iterator[None]:
    real = owner.__dict__[name]
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, real)


def _refused(loop: VirtualLoop, what: str, request: httpx.Request) -> httpx.ConnectError:
    finding = loop.report(what)
    return httpx.ConnectError(f"simbot: no real network in a simulation ({finding.where})", request=request)
