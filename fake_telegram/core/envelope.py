"""Responses exactly as the Bot API server writes them (docs/telegram-rules.md §2).

Bodies are compact JSON with keys in the server's order; the HTTP status equals
``error_code``; a ``retry_after`` always travels both in ``parameters`` and in a
``Retry-After`` header.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

JSON_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-type", "application/json"),
    ("connection", "keep-alive"),
)


@dataclass(frozen=True, slots=True)
class Response:
    """One HTTP answer. ``description`` is kept apart so the log need not parse bodies."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    description: str | None = None
    retry_after: int | None = None
    result: Any = field(default=None, compare=False)

    @property
    def bare(self) -> bool:
        """A bare status line (HTTP-parser errors): no JSON envelope at all."""
        return not self.body


def dumps(value: Any) -> str:
    """Compact JSON; NaN and Infinity are not JSON, so they raise ValueError."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def utf8(text: str) -> bytes:
    """Encode, replacing lone surrogates (which JSON escapes can spell) instead of failing."""
    return text.encode("utf-8", "replace")


def ok(result: Any, description: str | None = None, *, raw: str | None = None) -> Response:
    """``{"ok":true,"result":…[,"description":…]}``; ``raw`` is a pre-rendered result."""
    text = raw if raw is not None else dumps(result)
    body = '{"ok":true,"result":' + text
    if description is not None:
        body += ',"description":' + dumps(description)
    return Response(200, utf8(body + "}"), JSON_HEADERS, description, result=result)


def error(code: int, description: str, parameters: dict[str, Any] | None = None) -> Response:
    """``{"ok":false,"error_code":N,"description":…[,"parameters":{…}]}``."""
    body = f'{{"ok":false,"error_code":{code},"description":{dumps(description)}'
    headers = JSON_HEADERS
    retry_after = None
    if parameters:
        body += ',"parameters":' + dumps(parameters)
        if "retry_after" in parameters:
            retry_after = int(parameters["retry_after"])
            headers = (*JSON_HEADERS, ("retry-after", str(retry_after)))
    return Response(code, utf8(body + "}"), headers, description, retry_after)


def flood(retry_after: int) -> Response:
    """The one shape every 429 takes (Query.cpp:105-112)."""
    return error(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def bare(status: int) -> Response:
    """A bare status line, as the HTTP parser sends for 413/415/431/501/505."""
    return Response(status, b"", (("content-length", "0"), ("connection", "close")))


NOT_FOUND = error(404, "Not Found")
UNAUTHORIZED = error(401, "Unauthorized")

# The four Conflict texts (docs/telegram-rules.md §5). All share the 3 s throttle.
CONFLICT_OTHER_GET_UPDATES = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
CONFLICT_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT_OTHER_SET_WEBHOOK = "Conflict: terminated by other setWebhook"
