"""The request log as the control API serves it: in pages, with bot secrets masked.

A long-running server may hold many thousands of entries; one response with all of
them took seconds to build and blocked every other request meanwhile. A page is
small enough to build in milliseconds, and ``next_offset`` says where the next one
starts (``null`` on the last page), so a reader can still fetch everything.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from .envelope import JSON_HEADERS, Response, dumps, error, utf8
from .log import RequestLog

DEFAULT_PAGE = 500
MAX_PAGE = 1000


def masked_token(token: str | None) -> str | None:
    """``123456:***``: the bot id stays readable, the secret never leaves the server (as in the log lines)."""
    if token is None:
        return None
    head, sep, _ = token.partition(":")
    return head + sep + "***" if sep else token


def log_page(log: RequestLog, query: str, token: str | None) -> Response:
    """``?offset=ID&limit=N``: entries with id >= ID (default 0), at most N (default 500, at most 1000).

    ``kind=webhook``: the webhook delivery events instead (``deliver``, ``ack``, ``fail``, …),
    paged the same way by their ``seq``; they are the server's own POSTs, not requests it got.
    """
    args = _query_args(query)
    offset = _number(args, "offset", 0, 0, None)
    limit = _number(args, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    for value in (offset, limit):
        if isinstance(value, Response):
            return value
    assert isinstance(offset, int) and isinstance(limit, int)
    kind = args.get("kind", "requests")
    rows: list[dict[str, Any]] = []
    if kind == "requests":
        entries, next_offset = log.page(offset, limit, token)
        dropped = log.dropped
    elif kind == "webhook":
        entries, next_offset = log.webhook_page(offset, limit, token)  # type: ignore[assignment]
        dropped = log.webhook_dropped
    else:
        return error(400, f"Bad Request: kind must be 'requests' or 'webhook', got {kind[:40]!r}")
    for e in entries:
        row = e.to_json()
        row["token"] = masked_token(e.token)
        if kind == "webhook":
            row["url"] = masked_url(row["url"], e.token)
        rows.append(row)
    after = "null" if next_offset is None else str(next_offset)
    body = f'{{"ok":true,"result":{dumps(rows)},"next_offset":{after},"dropped":{dropped}}}'
    return Response(200, utf8(body), JSON_HEADERS, result=rows)


def masked_url(url: str, token: str | None) -> str:
    """A webhook URL without secrets: the bot's (a path like ``/<token>`` is common) and a ``user:password@``'s."""
    secret = (token or "").partition(":")[2]
    if secret:
        url = url.replace(secret, "***")
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.partition(':')[0]}:***@{host}{slash}{path}"


def _query_args(query: str) -> dict[str, str]:
    return dict(parse_qsl(query, keep_blank_values=True))


def _number(args: dict[str, str], name: str, default: int, low: int, high: int | None) -> int | Response:
    text = args.get(name, "")
    if text == "":
        return default
    if not text.isascii() or not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
        bound = f"{low}..{high}" if high is not None else f"an integer >= {low}"
        return error(400, f"Bad Request: {name} must be {bound}, got {text[:40]!r}")
    return int(text)
