"""The transport-free fake: a pure state machine driven by the running loop's timers."""

from .bot import Bot, Rules, Webhook
from .delivery import Answer, Deliver, Failure, Post
from .envelope import Response
from .log import Exchange, RequestLog, WebhookEvent, caller, handling
from .server import DEFAULT_EPOCH, FakeTelegram, Fault

__all__ = ["DEFAULT_EPOCH", "Answer", "Bot", "Deliver", "Exchange", "Failure", "FakeTelegram", "Fault", "Post", "RequestLog",
           "Response", "Rules", "Webhook", "WebhookEvent", "caller", "handling"]
