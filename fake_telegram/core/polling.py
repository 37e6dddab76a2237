"""getUpdates (docs/telegram-rules.md §3, §4, §6.1).

Order matters and follows Client.cpp: the webhook check comes first; then
allowed_updates is stored; then the anti-spin rules compare the *raw* offset with
the previous call's; then the offset is applied (confirming on arrival); only a
call that must wait touches the slot.
"""

from __future__ import annotations

from .bot import Bot
from .envelope import CONFLICT_WEBHOOK_ACTIVE, Response
from .log import Exchange
from .params import Params
from .updates import parse_allowed

LONG_POLL_MAX_TIMEOUT = 50
SPIN_WINDOW = 3.0  # a same-offset call this soon after the previous one ...
SPIN_TIMEOUT = 3  # ... has its timeout raised to this
BURST_WINDOW = 0.5  # and this soon, its limit cut to 1


def get_updates(bot: Bot, exchange: Exchange, params: Params) -> Response | None:
    if bot.webhook is not None:
        bot.conflict(exchange, CONFLICT_WEBHOOK_ACTIVE)
        return None
    offset = params.integer("offset", 0)
    limit = params.integer("limit", 100, 1, 100)
    timeout = params.integer("timeout", 0, 0, LONG_POLL_MAX_TIMEOUT)
    allowed = parse_allowed(params.text("allowed_updates"))
    if allowed is not None:
        bot.allowed = allowed

    now = bot.clock()
    if offset == bot.prev_offset:
        since = now - bot.prev_at
        if timeout < SPIN_TIMEOUT and since < SPIN_WINDOW:
            timeout = SPIN_TIMEOUT
        if since < BURST_WINDOW:
            limit = 1
    bot.prev_offset = offset
    bot.prev_at = now

    if offset < 0:
        bot.queue.clear(keep=-offset)
    offset = max(offset, 0)  # the slot keeps the head for offset <= 0 (§3.4)
    response = bot.read(exchange, offset, limit)
    if exchange.update_ids or timeout == 0:
        return response
    exchange.update_ids = ()
    bot.wait(exchange, offset, limit, timeout)
    return None
