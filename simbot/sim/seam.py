"""httpx's transport is the seam: while a simulation runs, every httpx client reaches its wire.

A bot builds its own clients (PTB makes two per Application), so the harness cannot
hand them a transport; it takes the place of httpx's default one instead. This used
to be respx, whose routing and call recording (never read here) cost about 40% of a
request. A default transport made inside a run is hollow: no connection pool, no TLS
context, no proxies read from the harness's environment (an instance's environment is
its ``InstanceContext.env``). A request for the Bot API goes to the wire; any other URL
is a finding and a connection error, as a raw socket is. A blocking (sync) client would
stall every instance on the loop, so it is refused too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import httpx._client

from .loop import VirtualLoop

API_HOST = "api.telegram.org"


class _HollowPool:
    """What a transport made inside a run has instead of a connection pool: closing works
    (inside the run or after it), sending after the run says why it cannot."""

    def __enter__(self) -> _HollowPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    async def __aenter__(self) -> _HollowPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    def handle_request(self, request: Any) -> Any:
        raise RuntimeError("simbot: this httpx client was made inside a simulation and has no network outside it")

    async def handle_async_request(self, request: Any) -> Any:
        self.handle_request(request)


@contextmanager
def routed_to(wire: Callable[[httpx.Request], Awaitable[httpx.Response]], loop: VirtualLoop) -> Iterator[None]:
    """Route the Bot API's requests from every httpx client to ``wire`` while inside."""

    async def handle_async_request(transport: Any, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.host == API_HOST and url.scheme == "https" and url.port is None:
            return await wire(request)
        raise _refused(loop, f"HTTP request to {url.scheme}://{url.netloc.decode('ascii', 'replace')}", request)

    def handle_request(transport: Any, request: httpx.Request) -> httpx.Response:
        raise _refused(loop, f"blocking HTTP request to {request.url.host}", request)

    def hollow(transport: Any, *args: Any, **kwargs: Any) -> None:
        transport._pool = _HollowPool()

    with ExitStack() as stack:
        for owner, name, value in (
            (httpx.AsyncHTTPTransport, "__init__", hollow),
            (httpx.AsyncHTTPTransport, "handle_async_request", handle_async_request),
            (httpx.HTTPTransport, "__init__", hollow),
            (httpx.HTTPTransport, "handle_request", handle_request),
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
