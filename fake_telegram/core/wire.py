"""From an HTTP request to a Bot API call (docs/telegram-rules.md §1).

Routing is ``/bot<token>[/test]/<method>``; parameters come from the query string
first and then the body (urlencoded, JSON or multipart, chosen by a substring of
Content-Type), so the URL wins on duplicate keys. A malformed urlencoded or
JSON body is not an error: whatever parsed before the fault is kept. Size and
encoding problems, malformed multipart and a body shorter than its Content-Length
get a bare status line. A compressed body is inflated only up to the limit it
must respect, plus one byte, so a small gzip bomb costs no more than that.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus

from .envelope import Response, bare
from .params import Params

MAX_PARAMS_BYTES = 1 << 20
MAX_BODY = 64 << 20  # any body, inflated or not: a bound of the fake's own (docs/fidelity.md)
MAX_FILES = 50
MAX_BOUNDARY = 70  # RFC 2046; HttpReader.cpp answers 400 to a longer or empty one
_DECODER = json.JSONDecoder()
_WS = " \t\n\r"


@dataclass(frozen=True, slots=True)
class Route:
    token: str
    test_dc: bool
    method: str


def split_target(target: str) -> tuple[str, str]:
    """Path (URL-decoded, ended by ``?`` or ``#``) and raw query string (ended by ``#``)."""
    target = target.partition("#")[0]
    path, _, query = target.partition("?")
    return unquote(path, errors="replace"), query


def route(path: str) -> Route | None:
    """``None`` where the hosted server answers 404 ``Not Found`` (HttpConnection.cpp:28-47)."""
    if not path.startswith("/bot"):
        return None
    token, sep, rest = path[4:].partition("/")
    if not sep:
        return None
    test_dc = rest.startswith("test")  # try_skip("/test") then a '/' must follow (HttpConnection.cpp:39-45)
    if test_dc:
        if not rest.startswith("test/"):
            return None
        rest = rest[5:]
    return Route(token, test_dc, rest)


def read_params(query: str, headers: Mapping[str, str], body: bytes) -> Params | Response:
    """Parameters of a request, or the bare status the HTTP parser would send."""
    values: dict[str, str] = {}
    files: dict[str, int] = {}
    _add_urlencoded(values, query)
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > len(body):
        return bare(400)  # the connection ended first (HttpReader.cpp:46-49)
    if body:
        content_type = headers.get("content-type", "")
        lowered = content_type.lower()
        multipart = "multipart/form-data" in lowered
        encoding = headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("gzip", "deflate"):
            limit = MAX_BODY if multipart else MAX_PARAMS_BYTES
            inflated = inflate(body, gzip=encoding == "gzip", limit=limit)
            if inflated is None:
                return bare(400)
            if len(inflated) > limit:
                return bare(413)
            body = inflated
        elif encoding not in ("identity", ""):
            return bare(415)
        if multipart:
            problem = _add_multipart(values, files, content_type, body)
            if problem is not None:
                return bare(problem)
        elif "application/x-www-form-urlencoded" in lowered:
            _add_urlencoded(values, body.decode("utf-8", "replace"))
        elif "application/json" in lowered:
            _add_json(values, body.decode("utf-8", "replace"))
    if _size(values) > MAX_PARAMS_BYTES:
        return bare(413)
    return Params(values, files)


def inflate(body: bytes, *, gzip: bool, limit: int) -> bytes | None:
    """At most ``limit + 1`` bytes of the inflated body (more means too large), or None if undecodable.

    gzip and zlib streams are told apart by their headers; a raw deflate stream is tried last.
    """
    for wbits in ((47,) if gzip else (15,)) + (-15,):
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(body, limit + 1)
            if len(out) <= limit:
                out += inflater.flush()
        except zlib.error:
            continue
        if len(out) > limit or inflater.eof:
            return out[: limit + 1]
    return None


def _size(values: dict[str, str]) -> int:
    """Bytes of UTF-8, counted only when the characters alone could come near the limit."""
    chars = sum(len(k) + len(v) for k, v in values.items())
    if chars * 4 <= MAX_PARAMS_BYTES:
        return chars
    return sum(len(k.encode("utf-8", "replace")) + len(v.encode("utf-8", "replace")) for k, v in values.items())


def _add_urlencoded(values: dict[str, str], text: str) -> None:
    for pair in text.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        values.setdefault(unquote_plus(key, errors="replace"), unquote_plus(value, errors="replace"))


def _add_json(values: dict[str, str], text: str) -> None:
    """Top-level object: strings unescaped, any other value kept as its raw JSON text."""
    i = _skip(text, 0)
    try:
        if text.startswith('"', i):
            value, _ = _DECODER.raw_decode(text, i)
            values.setdefault("content", _utf8(value))
            return
        if not text.startswith("{", i):
            return
        i = _skip(text, i + 1)
        if text.startswith("}", i):
            return
        while True:
            if not text.startswith('"', i):
                return
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if not text.startswith(":", i):
                return
            start = _skip(text, i + 1)
            value, i = _DECODER.raw_decode(text, start)
            values.setdefault(_utf8(key), _utf8(value) if isinstance(value, str) else _utf8(text[start:i]))
            i = _skip(text, i)
            if not text.startswith(",", i):
                return
            i = _skip(text, i + 1)
    except (ValueError, RecursionError):
        return  # malformed: keep what parsed so far (HttpReader.cpp:225-229)


def _utf8(text: str) -> str:
    """JSON escapes can spell lone surrogates, which are not UTF-8: replace them."""
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _add_multipart(values: dict[str, str], files: dict[str, int], content_type: str, body: bytes) -> int | None:
    """Parts with a filename are files (at most 50: else 413); other parts are parameters.

    A missing, empty or over-long boundary, or a part whose headers are empty, unparsable, not
    ``form-data`` or without a name, is a 400 (HttpReader.cpp:121-145, 284-412).
    """
    boundary = _boundary(content_type)
    if not boundary or len(boundary) > MAX_BOUNDARY:
        return 400
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            break  # the part never ends: the server would wait for more, the fake keeps what it has
        if data.endswith(b"\r\n"):
            data = data[:-2]
        head = head.removeprefix(b"\r\n")
        if not head:
            return 400
        disposition = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if not colon:
                if line[:1] in (" ", "\t") and disposition is not None:
                    disposition += line  # a folded header line continues the previous one
                    continue
                return 400
            if name.strip().lower() == "content-disposition":
                disposition = value
        if disposition is None:
            return 400
        disposition = disposition.strip()
        if not disposition.startswith("form-data;"):
            return 400
        field = _header_param(disposition, "name")
        if not field:
            return 400
        if _header_param(disposition, "filename") is not None:
            if len(files) >= MAX_FILES:
                return 413
            files.setdefault(field, len(data))
        else:
            values.setdefault(field, data.decode("utf-8", "replace"))
    return None


def _boundary(content_type: str) -> str | None:
    """What follows ``=`` after the first "boundary" in the header, up to ``;``, unquoted."""
    at = content_type.lower().find("boundary")
    if at < 0:
        return None
    equals = content_type.find("=", at + 8)
    if equals < 0:
        return None
    value = content_type[equals + 1 :].partition(";")[0]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def _header_param(header: str, name: str) -> str | None:
    for part in header.split(";")[1:]:
        key, sep, value = part.strip().partition("=")
        if sep and key.strip().lower() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            return value
    return None
