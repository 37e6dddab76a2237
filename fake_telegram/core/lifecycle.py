"""close and logOut, and the gate every request passes first (docs/telegram-rules.md §8)."""

from __future__ import annotations

from .bot import Bot
from .envelope import Response, error, flood, ok
from .log import Exchange
from .params import Params
from .updates import DEFAULT_ALLOWED

LOGGED_OUT = error(400, "Logged out")  # no "Bad Request:" prefix (Client.cpp:16286-16288)
RESTARTING = error(500, "Internal Server Error: restart")
ALREADY_CLOSED = error(400, "Bad Request: the bot has already been closed")
FRESH_LOGIN = 1800.0  # a bot authorized this recently answers "Logged out" for this long


def gate(bot: Bot, method: str) -> Response | None:
    """What a closed, closing or logged-out bot answers before any method runs."""
    now = bot.clock()
    if bot.logged_out_until is not None:
        if now < bot.logged_out_until:
            return LOGGED_OUT
        bot.logged_out_until = None
        bot.start()
    if bot.closing_until is not None and now < bot.closing_until:
        return RESTARTING
    if bot.closed:
        if method == "close":
            return ALREADY_CLOSED
        bot.start()  # any other request logs the bot in again
    return None


def close(bot: Bot, exchange: Exchange, params: Params) -> Response:
    now = bot.clock()
    age = now - bot.started_at
    retry_after = int(bot.rules.close_min_age - age)  # rounded down: the last second lets it through
    if retry_after > 0:
        return flood(retry_after)
    bot.answer_poll()  # a pending long poll is answered normally
    if bot.delivery is not None:  # the instance's webhook delivery goes with it; the next instance restarts it
        bot.delivery.stop("close")
        bot.delivery = None
    bot.closed = True
    bot.closing_until = now + bot.rules.close_takes
    return ok(True)


def log_out(bot: Bot, exchange: Exchange, params: Params) -> Response:
    now = bot.clock()
    bot.answer_poll()
    bot.queue.clear()  # numbering continues: the server's queue outlives the bot's data
    bot.webhook = None
    bot.webhook_error = None
    bot.restart_delivery("logOut")
    bot.allowed = DEFAULT_ALLOWED
    # Client.cpp:9333-9337: 1 s if the bot authorized more than 30 minutes ago, else 30 minutes
    bot.logged_out_until = now + (1.0 if now - bot.started_at > FRESH_LOGIN else FRESH_LOGIN)
    return ok(True)
