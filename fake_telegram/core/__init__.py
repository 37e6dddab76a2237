"""The transport-free fake: a pure state machine driven by the running loop's timers."""

from .bot import Bot, Rules, Webhook
from .envelope import Response
from .log import Exchange, RequestLog, caller, handling
from .server import DEFAULT_EPOCH, FakeTelegram, Fault

__all__ = ["DEFAULT_EPOCH", "Bot", "Exchange", "Fault", "FakeTelegram", "RequestLog", "Response", "Rules", "Webhook", "caller",
           "handling"]
