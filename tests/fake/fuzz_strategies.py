"""Hypothesis strategies for fuzzing the fake: requests a hostile world might send."""


from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, unquote

from hypothesis import strategies as st

from tests.tokens import OTHER_TOKEN, TOKEN

HORIZON = 100_000.0
BARE_STATUSES = {400, 413, 415, 501}
ASGI_MAX_BODY = 4096  # patched over asgi.MAX_BODY so the adapter's own 413 gets exercised


# -- strategies ------------------------------------------------------------------


def weighted(*choices: tuple[int, Any]) -> st.SearchStrategy[Any]:
    """Pick a strategy (or a plain value) with the given weights; shrinks toward the first."""
    table = [c if isinstance(c, st.SearchStrategy) else st.just(c) for w, c in choices for _ in range(w)]
    return st.sampled_from(table).flatmap(lambda s: s)


METHODS = (  # weighted toward the stateful ones
    *("getUpdates",) * 4, *("setWebhook",) * 3, "deleteWebhook", "deleteWebhook", "getWebhookInfo",
    "getWebhookInfo", "sendMessage", "sendMessage", "getMe", "close", "logOut", "sendChatAction", "getMyCommands",
)  # fmt: skip
BAD_TOKENS = (
    "",
    "123456",  # no ':'
    "123:short",  # well-formed, secret too short: 401
    "0123:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",  # leading zero
    "abc:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "-5:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    ":AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "18014398509481984:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",  # 2**54
    TOKEN + "A" * 60,  # longer than 80
    TOKEN[:-1] + "!",  # not base64url: 401
    TOKEN + " ",
)
INTEGERS = (  # §1.4: '-' and digits up to anything else, int32 wrap, then clamped
    "0", "1", "-1", "2", "3", "50", "51", "100", "101", "-100", "2147483647", "2147483648",
    "-2147483649", "99999999999999999999999", "1.9", " 5", "5 ", "+5", "abc", "12abc", "null", "",
)  # fmt: skip
VALUES = {  # per parameter: the values that probe its rules
    "offset": (*INTEGERS, "1000000000", "1999999999", "2000000000", "-1000"),
    "limit": INTEGERS,
    "timeout": INTEGERS,
    "max_connections": INTEGERS,
    "drop_pending_updates": ("true", "True", " yes ", "1", "0", "false", "no", ""),
    "allowed_updates": (
        "[]", '["message"]', '["MESSAGE","callback_query","bogus"]', '["chat_member"]', "[1]", '"message"',
        "{}", "null", '["message"', "", *("[" * 3000, "[" * 3000 + "]" * 3000, "[" * 1500 + '"message"' + "]" * 1500) * 2,
    ),
    "url": (
        "https://example.com/hook", "https://example.com:8443/x", "http://example.com", "example.com",
        "https://127.0.0.1/", "https://8.8.8.8:88/", "https://[::1]/", "https://[2001:db8::1]:443/",
        "https://example.com:1234/", "https://", "ftp://example.com", "https://exa mple.com",
        "https://[bad/", "https://a:b@c:99999/", "https://é.example/", "https://x\udc00.example/", "",
    ),
    "secret_token": ("secret_OK-1", "bad secret!", "s" * 300, ""),
    "ip_address": ("1.2.3.4", "::1", "x", ""),
    "chat_id": ("1", "-1", "-1000000000001", "0", "@channel", "abc", "-", "99999999999999999999", ""),
    "text": ("hi", "", " ", "é😀", "\x00", "\ud800", "a" * 5000),
    "method": ("getMe", "GETUPDATES", "sendMessage", "nope", ""),
    "certificate": ("x", ""),
}  # fmt: skip
PARAM_NAMES = (  # weighted toward the ones with rules
    *("offset", "timeout", "allowed_updates", "url") * 3, "limit", "limit", "drop_pending_updates",
    "drop_pending_updates", "chat_id", "chat_id", "text", "text", "max_connections", "secret_token",
    "ip_address", "method", "certificate",
)  # fmt: skip
ODD = ("%", "%zz", "%E9", "+", "&", "=", "\x00", "é", "😀", "\r\n", "\udfff")  # one not even UTF-8
RAW_JSON = (  # member values a JSON body may carry that json.dumps would never write
    '"\\ud800"', '"x\\udc00y"', '"\\ud83d\\ude00"', '"\\u0000"', "1e999", "-1e999", "-0", "NaN",
    "Infinity", "0x10", "01", "1" * 400, "[" * 3000 + "]" * 3000, "[" * 3000, "{", '"unterminated',
)  # fmt: skip
UPDATE_KINDS = ("message", "callback_query", "inline_query", "chat_member", "poll", "edited_message", "bogus")
CONTENT_TYPES = (
    "application/x-www-form-urlencoded", "application/json", "APPLICATION/JSON; charset=utf-8",
    "multipart/form-data", "multipart/form-data; boundary=", "text/plain", "application/octet-stream",
    "application/jsonx-www-form-urlencoded", "",
)  # fmt: skip
ENCODINGS = ("gzip", "deflate", "identity", "", "GZIP ", "br", "x-junk", "gzip, deflate", "chunked")
GAPS = (0.0, 0.0, 0.0, 0.0, 0.001, 0.001, 0.01, 0.04, 0.5, 1.0, 2.9, 3.0, 3.1, 50.0, 601.0, 1801.0)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def utf8(text: str) -> bytes:
    """UTF-8, but a lone surrogate too (as the 3 bytes a careless encoder writes)."""
    return text.encode("utf-8", "surrogatepass")


def wire(text: str, quoted: bool) -> bytes:
    """Text as it could appear in a request line: percent-encoded, or its raw UTF-8 bytes."""
    return quote(utf8(text), safe="").encode() if quoted else utf8(text)


def latin1(text: str) -> str:
    """What a header value looks like once an ASGI server decoded its bytes as latin-1."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


@st.composite
def method_names(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 11))
    if kind >= 4:
        name = draw(st.sampled_from(METHODS))
        if kind >= 9:  # random case: method names are case-insensitive (§1.1)
            mask = draw(st.integers(0, 2**16 - 1))
            name = "".join(c.upper() if mask >> i & 1 else c.lower() for i, c in enumerate(name))
        return name
    return draw(
        st.sampled_from(("", "getme/extra", "test", "getUpdates#frag", "getMe?", "getUpdates%00"))
        if kind < 2
        else st.text(max_size=12)
    )


@st.composite
def paths(draw: st.DrawFn) -> tuple[bytes, str]:
    """A raw request path and its kind ("api", "updates", "control" or "junk")."""
    quoted = draw(weighted((5, False), (1, True)))
    token = wire(draw(weighted((6, TOKEN), (2, OTHER_TOKEN), (2, st.sampled_from(BAD_TOKENS)), (1, st.text(max_size=16)))), quoted)  # fmt: skip
    kind = draw(weighted((12, "api"), (1, "test"), (1, "bare"), (3, "updates"), (1, "log"), (1, "control"), (2, "junk")))  # fmt: skip
    if kind in ("api", "test"):
        method = wire(draw(method_names()), quoted and draw(st.booleans()))
        return b"/bot" + token + (b"/test/" if kind == "test" else b"/") + method, "api"
    if kind == "bare":
        return b"/bot" + token, "api"
    if kind == "updates":
        return b"/_fake/bot" + token + b"/updates", "updates"
    if kind == "log":
        return draw(st.sampled_from((b"/_fake/bot" + token + b"/log", b"/_fake/log"))), "control"
    if kind == "control":
        return b"/_fake/" + wire(draw(st.text(max_size=10)), quoted), "control"
    junk = st.sampled_from((
        "/", "", "/Bot" + TOKEN + "/getMe", "/file/bot" + TOKEN + "/x", "//bot", "/bot/", "/bot//getMe",
        "http://api.telegram.org/bot" + TOKEN + "/getMe", "*", "/_fake", "/%5Ffake/log",
    ))  # fmt: skip
    return wire(draw(junk | st.text(max_size=16)), quoted), "junk"


def values(name: str) -> st.SearchStrategy[str]:
    return weighted(
        (6, st.sampled_from(VALUES.get(name, ("",)))),
        (1, st.sampled_from(ODD)),
        (1, st.text(max_size=12)),
        (1, st.integers().map(str)),
    )


def parameters() -> st.SearchStrategy[tuple[str, str]]:
    """A parameter name (mostly a real one) and a value that probes its rules."""
    return weighted((6, st.sampled_from(PARAM_NAMES)), (1, st.text(max_size=6))).flatmap(
        lambda name: st.tuples(st.just(name), values(name))
    )


def json_members() -> st.SearchStrategy[tuple[str, str]]:
    """A name and the raw JSON text of its value: a string, any JSON, or JSON no encoder writes."""

    def encoded(name: str, value: str) -> st.SearchStrategy[tuple[str, str]]:
        bare = name in ("offset", "limit", "timeout", "max_connections", "allowed_updates")
        text = weighted(
            (4, json.dumps(value)),
            (1 if bare else 0, value),  # a number or an array as itself, not in a string
            (1, JSON_VALUES.map(json.dumps)),
            (1, st.sampled_from(RAW_JSON)),
        )
        return st.tuples(st.just(name), text)

    return parameters().flatmap(lambda pair: encoded(*pair))


@st.composite
def pushes(draw: st.DrawFn) -> bytes:
    """A control-API body: updates (one or a list) whose fields are odd JSON now and then."""
    updates = []
    for kind in draw(
        st.lists(st.sampled_from(UPDATE_KINDS), min_size=draw(weighted((3, 1), (1, 0))), max_size=3)
    ):
        names = ("date", "date", "date", "text", "text", "id", "update_id")
        fields = draw(st.lists(st.sampled_from(names).flatmap(field), max_size=2))
        updates.append("{" + json.dumps(kind) + ":{" + ",".join(f'"{k}":{v}' for k, v in fields) + "}}")
    if len(updates) == 1 and draw(st.booleans()):
        return updates[0].encode("utf-8", "surrogatepass")
    return ("[" + ",".join(updates) + "]").encode("utf-8", "surrogatepass")


def json_values() -> st.SearchStrategy[str]:
    return weighted((3, JSON_VALUES.map(json.dumps)), (1, st.sampled_from(RAW_JSON)))


def field(name: str) -> st.SearchStrategy[tuple[str, str]]:
    """A field of a pushed update, as raw JSON; dates get the ones that probe expiry (§7.1)."""
    dates = st.sampled_from(
        ("1", "1767225600", "1767312000", "1e999", "1" * 400, "NaN", '"x"', "true", "null")
    )
    value = weighted((2, dates), (1, json_values())) if name == "date" else json_values()
    return st.tuples(st.just(name), value)


@st.composite
def form(draw: st.DrawFn) -> bytes:
    """``a=b&c=d`` with odd keys and values, percent-encoded or raw (§1.3)."""
    pairs = draw(
        st.lists(
            st.tuples(parameters(), weighted((6, True), (1, False))),  # with '=' or without
            max_size=4,
        )
    )
    quoted = draw(st.booleans())
    encode = (lambda s: quote_plus(utf8(s)).encode()) if quoted else utf8
    return b"&".join(encode(k) + (b"=" + encode(v) if eq else b"") for (k, v), eq in pairs)


@st.composite
def json_body(draw: st.DrawFn) -> bytes:
    """A top-level object (mostly) with arbitrary or odd values; sometimes not an object or broken."""
    shape = draw(weighted((6, "object"), (1, "value"), (1, "junk")))
    if shape == "value":
        text = json.dumps(draw(JSON_VALUES))
    elif shape == "junk":
        text = draw(st.sampled_from(RAW_JSON) | st.text(max_size=20))
    else:
        members = draw(st.lists(json_members(), max_size=4))
        comma, colon = draw(st.sampled_from(((",", ":"), (", ", ": "), (" ,\n", "\t:\r"))))
        text = "{" + comma.join(json.dumps(k) + colon + v for k, v in members) + "}"
    data = text.encode("utf-8", "surrogatepass")
    if draw(weighted((5, False), (1, True))):  # broken: cut off anywhere
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def multipart(draw: st.DrawFn) -> tuple[bytes, str]:
    """A multipart body and its Content-Type: boundary or not, files or not, maybe broken."""
    boundary = draw(weighted((4, "XyZzy"), (1, st.sampled_from(("", "a b", "é", "--", '"q"'))), (1, st.text(max_size=8))))  # fmt: skip
    parts = draw(
        st.lists(
            st.tuples(
                parameters(),
                st.one_of(st.none(), st.sampled_from(("cert.pem", "", "a;b"))),
                weighted((3, False), (1, True)),  # random bytes instead of the value
                st.binary(max_size=16),
            ),
            max_size=4,
        )
    )
    if draw(weighted((9, False), (1, True))):  # one file over the limit of 50 (HttpServer.h:66-67)
        parts += [((f"f{i}", "x"), "f.txt", False, b"") for i in range(51)]
    delimiter = b"--" + boundary.encode("utf-8")
    body = b""
    for (name, value), filename, random_bytes, data in parts:
        data = data if random_bytes else utf8(value)
        disposition = b'Content-Disposition: form-data; name="' + utf8(name) + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename.encode() + b'"'
        body += delimiter + b"\r\n" + disposition + b"\r\n\r\n" + data + b"\r\n"
    body += delimiter + b"--\r\n"
    if draw(weighted((5, False), (1, True))):
        body = body[: draw(st.integers(0, len(body)))]
    header = draw(weighted((4, f"multipart/form-data; boundary={boundary}"), (1, f'multipart/form-data; boundary="{boundary}"'), (1, "multipart/form-data"), (1, "Multipart/Form-Data; charset=x; boundary=other")))  # fmt: skip
    return body, latin1(header)


@st.composite
def bodies(draw: st.DrawFn, kind: str) -> tuple[bytes, dict[str, str]]:
    """A body and the headers that describe it (right, wrong or odd)."""
    if kind == "updates":
        encoding = draw(weighted((4, "push"), (2, "json"), (1, "none")))
    else:
        encoding = draw(weighted((4, "none"), (3, "form"), (3, "json"), (2, "multipart"), (1, "bytes")))
    headers: dict[str, str] = {}
    body = b""
    if encoding == "push":
        body = draw(pushes())
    elif encoding == "form":
        body, headers["content-type"] = draw(form()), "application/x-www-form-urlencoded"
    elif encoding == "json":
        body, headers["content-type"] = draw(json_body()), "application/json"
    elif encoding == "multipart":
        body, headers["content-type"] = draw(multipart())
    elif encoding == "bytes":
        body = draw(st.binary(max_size=64))
    if draw(weighted((5, False), (1, True))):  # some other Content-Type
        headers["content-type"] = latin1(draw(st.sampled_from(CONTENT_TYPES) | st.text(max_size=20)))
    compress = draw(weighted((12, None), (2, "gzip"), (2, "deflate"), (1, "raw deflate"), (2, "odd")))
    if compress == "gzip":
        body = gzip.compress(body, mtime=0)
    elif compress == "deflate":
        body = zlib.compress(body)
    elif compress == "raw deflate":
        packer = zlib.compressobj(wbits=-15)
        body = packer.compress(body) + packer.flush()
    if compress is not None:
        headers["content-encoding"] = "deflate" if compress == "raw deflate" else compress
    if compress == "odd":  # claimed but not applied, or unknown
        headers["content-encoding"] = latin1(draw(st.sampled_from(ENCODINGS) | st.text(max_size=8)))
    if draw(weighted((9, False), (1, True))):
        headers["x-fake-caller"] = "fuzz"
    return body, headers


@dataclass(frozen=True)
class Request:
    verb: str
    raw_path: bytes
    query: bytes
    headers: tuple[tuple[str, str], ...]  # lower-case names, values as latin-1 text
    body: bytes
    gap: float  # virtual seconds to wait before sending
    wait: bool  # wait for the answer before sending the next request
    # Only the ASGI run uses these:
    splits: tuple[int, ...] = ()  # the body arrives in chunks cut here
    hang_up: float | None = None  # the client disconnects this long after sending
    cut: bool = False  # the client disconnects before the body is complete
    no_raw_path: bool = False  # the server leaves out the optional scope["raw_path"]

    @property
    def target(self) -> str:
        return self.request_target.decode("latin-1")

    @property
    def request_target(self) -> bytes:
        """As on the request line: the path may hold a '?' of its own, which then starts the query."""
        return self.raw_path + b"?" + self.query if self.query else self.raw_path

    @property
    def fate(self) -> str:
        """What the ASGI app makes of the body: "whole", "too large" (seen before a hang-up) or "gone"."""
        delivered = (self.splits[-1] if self.splits else 0) if self.cut else len(self.body)
        if delivered > ASGI_MAX_BODY:
            return "too large"
        return "gone" if self.cut else "whole"

    @property
    def reaches_core(self) -> bool:
        """Whether the core sees this request (a bad verb gets its 501 before any body is read: §1.2)."""
        return self.fate == "whole" or (self.fate == "too large" and self.verb not in ("GET", "POST"))

    @property
    def control(self) -> bool:
        path = self.raw_path.decode("latin-1").partition("#")[0]
        return unquote(path, errors="replace").startswith("/_fake/")

    @property
    def encoding(self) -> str:
        return dict(self.headers).get("content-encoding", "identity").strip().lower()


@st.composite
def requests(draw: st.DrawFn, *, over_asgi: bool = False) -> Request:
    path, kind = draw(paths())
    if draw(weighted((12, False), (1, True))):
        path += b"#" + wire(draw(st.text(max_size=6)), False)
    extra = ("PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get", "post", "CONNECT", "BREW", "")
    verb = draw(weighted((8 if kind == "updates" else 4, "POST"), (4, "GET"), (1, st.sampled_from(extra))))
    query = draw(weighted((2, b""), (3, form()), (1, st.binary(max_size=24))))
    body, headers = draw(bodies(kind))
    request = Request(
        verb, path, query, tuple(headers.items()), body, draw(st.sampled_from(GAPS)), draw(st.booleans())
    )
    if not over_asgi:
        return request
    splits = tuple(sorted(draw(st.lists(st.integers(0, len(body)), max_size=2))))
    hang_up = draw(weighted((6, None), (1, st.sampled_from((0.0, 0.001, 1.0, 3.0, 10.0, 60.0)))))
    cut = draw(weighted((15, False), (1, True)))
    before_query = (path + b"?" + query).partition(b"?")[0]
    safe_path = before_query.isascii() and b"#" not in before_query  # a server could percent-decode it back
    no_raw_path = safe_path and draw(weighted((5, False), (1, True)))
    return Request(
        request.verb,
        path,
        query,
        request.headers,
        body,
        request.gap,
        request.wait,
        splits,
        hang_up,
        cut,
        no_raw_path,
    )


sessions = st.lists(requests(), min_size=1, max_size=6)
asgi_sessions = st.lists(requests(over_asgi=True), min_size=1, max_size=6)

