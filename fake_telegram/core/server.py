"""The fake Bot API server: routing, tokens, dispatch, updates and the control API.

``FakeTelegram`` is transport-free: an adapter hands it the parts of an HTTP
request and gets back an ``Exchange`` that is answered now or later. It never
reads the wall clock and never opens a socket; every source of nondeterminism
(clock, Unix epoch, PRNG for update ids) is passed in.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import lifecycle, messages, polling, sending, webhooks
from .bot import Bot, Clock, Rules
from .control import log_page
from .delivery import Answer, Deliver, Seam
from .envelope import NOT_FOUND, UNAUTHORIZED, Response, bare, error, flood, ok
from .log import Exchange, RequestLog, caller, handling, logged
from .params import Params
from .tokens import bot_id, secret_accepted
from .updates import expiry, render, update_type
from .wire import read_params, route, split_target

Handler = Callable[[Bot, Exchange, Params], "Response | None"]


@dataclass(frozen=True)
class Fault:
    """Telegram misbehaving for a while: every matching request gets this error instead.

    ``status`` 429 answers in the flood form with ``retry_after``; 5xx statuses answer
    ``Internal Server Error`` (500) or ``Bad Gateway`` (502) and the like.
    """

    start: float
    end: float
    status: int = 429
    retry_after: int = 5
    methods: frozenset[str] | None = None  # None: every method

    def answer(self) -> Response:
        if self.status == 429:
            return flood(self.retry_after)
        return error(self.status, _REASONS.get(self.status, "Internal Server Error"))


_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
DEFAULT_EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z: Unix time at clock() == 0
CONTROL_PREFIX = "/_fake/"

HANDLERS: dict[str, Handler] = {
    "getUpdates": polling.get_updates,
    "setWebhook": webhooks.set_webhook,
    "deleteWebhook": webhooks.delete_webhook,
    "getWebhookInfo": webhooks.get_webhook_info,
    "close": lifecycle.close,
    "logOut": lifecycle.log_out,
    **messages.HANDLERS,
    **sending.HANDLERS,
}


def loop_time() -> float:
    """The default clock: the running loop's, so virtual-time loops make polls elapse virtually."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        raise RuntimeError("FakeTelegram's default clock needs a running asyncio loop") from None


class FakeTelegram:
    def __init__(
        self,
        *,
        clock: Clock = loop_time,
        seed: int | random.Random = 0,
        epoch: float = DEFAULT_EPOCH,
        tokens: Iterable[str] | None = None,
        rules: Rules | None = None,
        log_entries: int | None = None,
        deliver: Deliver | None = None,
        loopback_http: bool = False,
        loopback_only: bool = False,
    ):
        """``log_entries`` None keeps every request (a simulation's evidence); a number keeps the newest.

        Either way the log stores bounded parameter values (``log.logged``). ``deliver`` is the
        seam webhook POSTs leave through (``delivery.Post`` in, an ``Answer``, ``Failure`` or
        status out); without it a webhook is registered but never called. ``loopback_http``
        accepts loopback webhook URLs as local mode does (plain http, any port). ``loopback_only``
        (a server that really POSTs) accepts plain http to a loopback host and refuses every other
        URL at setWebhook (400 ``bad webhook``), so nothing is ever sent off the machine.
        """
        self.clock = clock
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        # the webhook retry PRNG is derived without drawing from ``rng``: update ids stay as they were
        webhook_seed = str(seed) if not isinstance(seed, random.Random) else hashlib.sha256(
            repr(seed.getstate()).encode()).hexdigest()  # fmt: skip
        self.epoch = epoch
        self.allowed_tokens = None if tokens is None else frozenset(tokens)
        self.rules = rules or Rules()
        self.log = RequestLog(log_entries)
        self.seam = Seam(self.log, webhook_seed, deliver, self._execute, loopback_http, loopback_only)
        self.bots: dict[tuple[str, bool], Bot] = {}
        self.faults: list[Fault] = []
        self._handlers = {name.lower(): (name, handler) for name, handler in HANDLERS.items()}
        self._refusals: dict[str, Response | None] = {}  # token -> 404 / 401, or None for a good one
        self._refusals_for = self.allowed_tokens

    # -- the Bot API ---------------------------------------------------------

    def receive(
        self,
        verb: str,
        target: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        *,
        who: str | None = None,
        cause: int | None = None,
    ) -> Exchange:
        """Take one HTTP request (``target`` is path plus query); answer now or later.

        ``headers`` must have lower-case names. ``who`` overrides the caller context
        variable that the harness sets per simulated instance; ``cause``, the update being
        handled (the ``handling`` context variable), for a request delivered outside the caller's context.
        """
        path, query = split_target(target)
        headers = headers or {}
        if path.startswith(CONTROL_PREFIX):
            exchange = Exchange(-1, self.clock(), who or caller.get(), None, path, {})
            exchange.answer(self._control(verb, path, query, body), exchange.at)
            return exchange
        exchange = Exchange(self.log.next_id, self.clock(), who or caller.get(), None, "", {})
        exchange.handling = cause if cause is not None else handling.get()
        self.log.append(exchange)
        response = self._dispatch(exchange, verb, path, query, headers, body)
        if response is not None:
            exchange.answer(response, exchange.at)
        return exchange

    def _dispatch(
        self, exchange: Exchange, verb: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> Response | None:
        if verb not in ("GET", "POST"):
            return bare(501)
        params = read_params(query, headers, body)
        if isinstance(params, Response):
            return params
        exchange.params = logged(params)
        where = route(path)
        if where is None:
            return NOT_FOUND
        exchange.token = where.token
        name = where.method or params.text("method")
        canonical, handler = self._handlers.get(name.lower(), (name, None))
        exchange.method = canonical
        if handler is None:
            return NOT_FOUND
        if self._refusals_for is not self.allowed_tokens or len(self._refusals) > 4096:
            self._refusals, self._refusals_for = {}, self.allowed_tokens  # the allowed set changed, or too many
        refusal = self._refusals.get(where.token, ...)
        if refusal is ...:  # each token is judged once: every request of a run carries the same
            refusal = self._refusals[where.token] = (
                NOT_FOUND if bot_id(where.token) is None else None if self._accepts(where.token) else UNAUTHORIZED
            )
        if refusal is not None:
            return refusal
        if self.faults:
            now = exchange.at
            for fault in self.faults:
                if fault.start <= now < fault.end and (fault.methods is None or canonical in fault.methods):
                    return fault.answer()
        bot = self.bot(where.token, test_dc=where.test_dc)
        return lifecycle.gate(bot, name.lower()) or handler(bot, exchange, params)

    def _accepts(self, token: str) -> bool:
        if self.allowed_tokens is not None:
            return token in self.allowed_tokens
        return secret_accepted(token)

    def bot(self, token: str, *, test_dc: bool = False) -> Bot:
        """The server-side state of a bot, created on first use."""
        key = (token, test_dc)
        bot = self.bots.get(key)
        if bot is None:
            ident = bot_id(token)
            if ident is None:
                raise ValueError(f"malformed bot token {token!r}: expected '<bot id>:<secret>'")
            bot = self.bots[key] = Bot(
                token, ident, self.rng, self.clock, self.epoch, self.rules, self.log.max_entries, self.seam
            )
        return bot

    @property
    def deliver(self) -> Deliver | None:
        return self.seam.deliver

    @deliver.setter
    def deliver(self, deliver: Deliver | None) -> None:
        """Set (or remove) the webhook seam; running deliveries restart with it."""
        self.seam.deliver = deliver
        for bot in self.bots.values():
            if bot.webhook is not None:
                bot.restart_delivery("deliver seam changed")

    def _execute(self, token: str, answer: Answer) -> None:
        """A method sent back in a 2xx webhook answer runs as an ordinary request; its result is dropped."""
        headers = {k.lower(): v for k, v in answer.headers.items()}
        params = read_params("", headers, answer.body)
        if isinstance(params, Response):
            return
        self.receive("POST", f"/bot{token}/{params.text('method')}", headers, answer.body,
                     who=answer.instance or "webhook reply")  # fmt: skip

    def outbox(self, token: str | None = None) -> list[Exchange]:
        """Everything sent (sendMessage and the like), in arrival order."""
        sent = [e for b in self.bots.values() if token is None or b.token == token for e in b.outbox]
        return sorted(sent, key=lambda e: e.id)

    # -- control ---------------------------------------------------------------

    def push(self, token: str, updates: dict[str, Any] | list[dict[str, Any]]) -> list[int | None]:
        """Queue updates for a bot; the server assigns update_id.

        Returns the ids in order; ``None`` for an update Telegram would not queue
        (filtered by allowed_updates, already expired, or over capacity).
        """
        batch = updates if isinstance(updates, list) else [updates]
        kinds = [_kind(u) for u in batch]
        bot = self.bot(token)
        now = bot.unix()
        for update, kind in zip(batch, kinds, strict=True):  # all or nothing: check before queuing
            expiry(kind, update, now)
            render(update)
        ids: list[int | None] = []
        for update, kind in zip(batch, kinds, strict=True):
            ids.append(bot.queue.push(update, kind, now) if kind in bot.allowed else None)
        if any(i is not None for i in ids):
            bot.updates_arrived()
        return ids

    def _control(self, verb: str, path: str, query: str, body: bytes) -> Response:
        """``POST /_fake/bot<token>/updates``, ``GET /_fake/bot<token>/log`` and ``GET /_fake/log``."""
        where = route(path[len(CONTROL_PREFIX) - 1 :])
        if path == "/_fake/log" and verb == "GET":
            return log_page(self.log, query, None)
        if where is None or bot_id(where.token) is None:
            return NOT_FOUND
        if where.method == "log" and verb == "GET":
            return log_page(self.log, query, where.token)
        if where.method == "updates" and verb == "POST":
            try:
                return ok(self.push(where.token, json.loads(body or b"null", parse_constant=_not_json)))
            except (ValueError, TypeError) as exc:
                return error(400, f"Bad Request: {exc}")
            except RecursionError:
                return error(400, "Bad Request: the update is nested too deeply")
        return NOT_FOUND


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _kind(update: Any) -> str:
    if not isinstance(update, dict):
        raise TypeError(f"an update must be a JSON object, got {type(update).__name__}")
    if "update_id" in update:
        raise ValueError("update_id is assigned by the server; leave it out")
    kind = update_type(update)
    if kind is None:
        raise ValueError(f"an update needs one of the update type fields (e.g. 'message'), got {sorted(update)}")
    return kind
