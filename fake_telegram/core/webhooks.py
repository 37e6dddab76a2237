"""setWebhook, deleteWebhook and getWebhookInfo (docs/telegram-rules.md §6, §12).

A URL that passes validation is "verified" at once, without contacting it. Delivery
itself is ``delivery.py``'s, and runs only when the server was given a deliver seam;
without one, updates simply stay queued (docs/fidelity.md).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from .bot import Bot, Webhook
from .envelope import CONFLICT_SET_WEBHOOK, Response, error, flood, ok
from .log import Exchange
from .params import Params
from .updates import DEFAULT_ALLOWED, UPDATE_TYPES, parse_allowed

SET_WEBHOOK_INTERVAL = 1.0
WEBHOOK_PORTS = (80, 88, 443, 8443)
_SECRET = re.compile(r"[A-Za-z0-9_-]*")
UNLISTED = frozenset({"custom_event", "custom_query"})


def set_webhook(bot: Bot, exchange: Exchange, params: Params) -> Response | None:
    return _change(bot, exchange, params, params.text("url"))


def delete_webhook(bot: Bot, exchange: Exchange, params: Params) -> Response | None:
    return _change(bot, exchange, params, "")


def _change(bot: Bot, exchange: Exchange, params: Params, url: str) -> Response:
    """The one handler both methods share (Client.cpp:15726-15798), step by step."""
    now = bot.clock()
    if url:
        if now < bot.last_set_webhook_at + SET_WEBHOOK_INTERVAL:
            return flood(1)
        bot.last_set_webhook_at = now
    max_connections = params.integer("max_connections", 40, 1, 100)
    ip_address = params.text("ip_address")
    secret = params.text("secret_token")
    has_certificate = "certificate" in params.files
    drop = params.boolean("drop_pending_updates")
    allowed = parse_allowed(params.text("allowed_updates"))
    wanted = Webhook(url, max_connections, ip_address, secret, has_certificate) if url else None

    current = bot.webhook
    if current == wanted and not has_certificate and not drop:
        # nothing to change: allowed_updates is still stored, also by deleteWebhook (Client.cpp:15758-15763)
        if allowed is not None:
            bot.allowed = allowed
        return ok(True, "Webhook is already set" if url else "Webhook is already deleted")

    if url:
        bot.kick(exchange, CONFLICT_SET_WEBHOOK)  # before the URL is even validated
    bot.webhook = None  # an existing webhook is closed first: its in-flight POSTs are cut, updates stay
    bot.webhook_error = None  # last_error_* go with it (Client.cpp:15955-15956, 16086-16087)
    bot.restart_delivery("deleteWebhook" if not url else "setWebhook")
    if drop:
        bot.queue.clear()
    if wanted is None:
        return ok(True, "Webhook was deleted" if current is not None else "Webhook is already deleted")
    local, only = (bot.seam.loopback_http, bot.seam.loopback_only) if bot.seam is not None else (False, False)
    problem = _check_url(url, local, only) or _check_secret(secret)
    if problem is not None:
        return problem
    if allowed is not None:  # finish_set_webhook (Client.cpp:16089); deleting a webhook stores nothing
        bot.allowed = allowed
    bot.webhook = wanted
    bot.restart_delivery()  # from the queue head, pending mode, fresh backoff
    return ok(True, "Webhook was set")


def _check_url(url: str, loopback_http: bool = False, loopback_only: bool = False) -> Response | None:
    """The hosted server's checks; ``loopback_http``: a loopback URL is taken as in local mode (any scheme, port).

    ``loopback_only`` (``fake-telegram serve``, which really POSTs): plain http to a loopback host
    on any port, nothing else; a URL the fake will not contact is refused as Telegram refuses one
    it cannot use, so no update ever leaves the machine.
    """
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return error(400, "Bad Request: invalid webhook URL specified")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return error(400, "Bad Request: invalid webhook URL specified")
    if loopback_only:
        return _loopback_only(parts.scheme.lower(), parts.hostname)
    if loopback_http and is_loopback(parts.hostname):
        return None
    if parts.scheme.lower() != "https":
        return error(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
    if (port or 443) not in WEBHOOK_PORTS:
        return error(400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return None
    if address.version == 6:
        return error(400, "Bad Request: bad webhook: IPv6-only addresses are not allowed")
    if not address.is_global:
        return error(400, f"Bad Request: bad webhook: IP address {address} is reserved")
    return None


NOT_LOOPBACK = "Bad Request: bad webhook: fake-telegram serve posts only to a loopback host (127.0.0.0/8, ::1, localhost), not {host}"
NOT_PLAIN_HTTP = "Bad Request: bad webhook: fake-telegram serve posts plain HTTP only (no TLS): use http://{host}"


def _loopback_only(scheme: str, host: str) -> Response | None:
    """Local mode restricted to this machine: the host is checked first, then the scheme."""
    shown = f"[{host}]" if ":" in host else host
    if not is_loopback(host):
        return error(400, NOT_LOOPBACK.format(host=shown))
    if scheme != "http":
        return error(400, NOT_PLAIN_HTTP.format(host=shown))
    return None


def is_loopback_http(url: str) -> bool:
    """Whether ``url`` is plain http to a loopback host: the only webhook ``fake-telegram serve`` contacts."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        return False
    return parts.scheme.lower() == "http" and bool(parts.hostname) and is_loopback(parts.hostname or "")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: where ``fake-telegram serve`` may POST in local mode."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_secret(secret: str) -> Response | None:
    if len(secret) > 256:
        return error(400, "Bad Request: secret token is too long")
    if not _SECRET.fullmatch(secret):
        return error(400, "Bad Request: secret token contains unallowed characters")
    return None


def get_webhook_info(bot: Bot, exchange: Exchange, params: Params) -> Response:
    """Fields in the server's order, each present only when its rule says (§6.4)."""
    hook = bot.webhook
    info: dict[str, object] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": bool(hook and hook.has_certificate),
        "pending_update_count": bot.queue.pending(bot.unix()),
    }
    if bot.webhook_error is not None:  # after a delivery error, until the webhook is set or closed again
        info["last_error_date"], info["last_error_message"] = bot.webhook_error
    if hook is not None:
        info["max_connections"] = hook.max_connections
        info["ip_address"] = hook.ip_address or "<unknown>"
    if bot.allowed != DEFAULT_ALLOWED:  # custom_event and custom_query are never listed (Client.cpp:5934)
        info["allowed_updates"] = [t for t in UPDATE_TYPES if t in bot.allowed and t not in UNLISTED]
    return ok(info)
