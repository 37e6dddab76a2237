"""Read timeouts for real HTTP: a client that sends half a request is cut off.

uvicorn times out only an idle keep-alive connection; a connection that sends part
of its headers, or part of its body, and then waits was held for ever (2,000 of them
were held for 90 s in a test). This protocol gives each request two deadlines,
counted from the first byte and from the end of the headers, and closes the
connection when one passes. Both are absolute, so trickling one byte at a time does
not extend them. Once the request is whole nothing is timed: a long poll may take 50 s.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0  # seconds from a request's first byte (or the connection) to the end of its headers
BODY_TIMEOUT = 30.0  # seconds from the end of the headers to the end of the body


class TimedH11Protocol(H11Protocol):
    header_timeout = HEADER_TIMEOUT
    body_timeout = BODY_TIMEOUT

    _phase: str | None = None
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._enter("headers")  # a new connection must send a request; uvicorn would wait for ever

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.IDLE:
            self._enter("headers" if self.conn.trailing_data[0] else self._phase)
        elif state is h11.SEND_BODY:
            self._enter("body")
        else:
            self._enter(None)  # whole (or closing): the answer may take as long as it takes

    def connection_lost(self, exc: Exception | None) -> None:
        self._enter(None)
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        self._enter(None)  # between requests uvicorn's keep-alive timeout applies
        super().on_response_complete()

    def _enter(self, phase: str | None) -> None:
        if phase == self._phase:
            return
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._phase = phase
        if phase is not None:
            seconds = self.header_timeout if phase == "headers" else self.body_timeout
            self._deadline = self.loop.call_later(seconds, self._expire)

    def _expire(self) -> None:
        """Close without an answer: the request never arrived, so the server has nothing to say."""
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def timed_protocol(header_timeout: float = HEADER_TIMEOUT, body_timeout: float = BODY_TIMEOUT) -> type[H11Protocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` with these deadlines (seconds, > 0)."""
    for name, value in (("header_timeout", header_timeout), ("body_timeout", body_timeout)):
        if not value > 0:
            raise ValueError(f"{name}: expected a number of seconds > 0, got {value!r}")
    return type("TimedH11Protocol", (TimedH11Protocol,), {"header_timeout": header_timeout, "body_timeout": body_timeout})
