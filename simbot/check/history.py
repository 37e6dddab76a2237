"""What a trace says happened, in the terms the checkers use.

Lifetimes come from the harness's spawn/exit events; polls from the server's
request log. An instance is *polling* while one of its getUpdates holds the
long-poll slot, it has not given up on that request, and it is alive. A poll
leaves the slot when it is kicked (at the kicker's arrival, even if its 409 is
held back) or answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..sim.trace import Trace

PLATFORM_EVENTS = ("start", "deploy", "cutover", "restart", "crash", "stop", "kill", "signal", "restart_scheduled",
                   "stray_start", "stray_stop", "pause", "resume", "webhook", "outage", "store_outage", "store_wipe",
                   "endpoint_errors", "routing_lag", "slow_handler", "rotate_secret")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Poll:
    request: dict[str, Any]
    instance: str
    start: float
    end: float  # when it left the slot, or when its owner gave up or died

    def covers(self, t: float) -> bool:
        return self.start <= t < self.end


class History:
    def __init__(self, trace: Trace, end: float | None = None):
        """``end``: where the run really stopped, when it was cut short before the trace's horizon."""
        self.trace = trace
        self.horizon = trace.horizon if end is None else min(end, trace.horizon)
        self.requests = trace.of("request")
        self.by_id = {r["id"]: r for r in self.requests}
        self.born: dict[str, float] = {}
        self.died: dict[str, float] = {}
        self.exit_codes: dict[str, int] = {}
        self.killed: set[str] = set()
        self.stopped_at: set[tuple[str, float]] = set()  # (instance, t): the platform signalled or killed it then
        for event in trace:
            if event["kind"] in ("signal", "kill", "crash", "stop") and event["instance"] is not None:
                self.stopped_at.add((event["instance"], event["t"]))
            if event["kind"] == "spawn":
                self.born[event["instance"]] = event["t"]
            elif event["kind"] == "exit":
                self.died[event["instance"]] = event["t"]
                self.exit_codes[event["instance"]] = event["code"]
                if event["code"] == 137:
                    self.killed.add(event["instance"])
        self.instances = list(self.born)
        self.polls = [p for p in map(self._poll, self.requests) if p is not None and p.end > p.start]
        # the server's webhook POSTs (deliver, ack, fail, …); harness ``webhook`` events carry no ``event``
        self.webhook_steps: list[dict[str, Any]] = [e for e in trace.of("webhook") if "event" in e]
        self.receiving = self._receiving()

    def alive(self, instance: str, t: float) -> bool:
        return instance in self.born and self.born[instance] <= t < self.died.get(instance, float("inf"))

    def death(self, instance: str) -> float:
        return self.died.get(instance, self.horizon)

    def left_slot(self, request: dict[str, Any]) -> float:
        """When a long poll stopped holding the slot (server's view)."""
        if request["kicked_by"] is not None:
            return self.by_id[request["kicked_by"]]["t"]
        return request["answered_at"] if request["answered_at"] is not None else self.horizon

    def _poll(self, r: dict[str, Any]) -> Poll | None:
        if r["method"] != "getUpdates" or not r["long_poll"] or r["instance"] not in self.born:
            return None
        end = min(self.left_slot(r), self.death(r["instance"]))
        if r["abandoned_at"] is not None:
            end = min(end, r["abandoned_at"])
        return Poll(r, r["instance"], r["t"], end)

    def polling_intervals(self) -> list[tuple[float, float, str]]:
        return sorted((p.start, p.end, p.instance) for p in self.polls)

    def serving_intervals(self) -> list[tuple[float, float, str]]:
        """When an instance got updates: polling, or receiving webhook POSTs. Without a webhook: the polls."""
        return sorted(self.polling_intervals() + self.receiving) if self.receiving else self.polling_intervals()

    def _url_requests(self) -> list[tuple[float, str]]:
        """The bot's changes of the webhook's URL: a setWebhook's URL, "" for a deleteWebhook or a setWebhook
        without one (the server closing it is a webhook step)."""
        return [(r["t"], r["params"].get("url", "") if r["method"] == "setWebhook" else "") for r in self.requests
                if r["method"] in ("setWebhook", "deleteWebhook") and r["status"] == 200]  # fmt: skip

    def webhook_set(self) -> list[tuple[float, float]]:
        """When a webhook was set (a setWebhook with a URL until a deleteWebhook, an empty URL or a close)."""
        out: list[tuple[float, float]] = []
        since: float | None = None
        marks = self._url_requests() + [(e["t"], "") for e in self.webhook_steps if e["event"] == "close"]
        for t, url in sorted(marks, key=lambda m: m[0]):
            if url and since is None:
                since = t
            elif not url and since is not None:
                out.append((since, t))
                since = None
        if since is not None:
            out.append((since, self.horizon))
        return out

    def _receiving(self) -> list[tuple[float, float, str]]:
        """When each instance received webhook POSTs: from a 2xx it answered while a webhook was set, until
        a POST nobody answered (an edge error, a refusal, a timeout), the webhook's removal or a change of
        its URL, or the instance's death. Between two POSTs the last answer stands: the instance counts
        as receiving while the webhook is set, routed to it, and it answers."""
        steps = self.webhook_steps
        if not steps:
            return []
        changes: list[tuple[float, int, str, str | None]] = []  # (t, order, what, url or instance)
        changes += [(t, 0, "set", url) for t, url in self._url_requests()]  # before the POSTs of its instant
        for e in steps:
            if e["event"] == "ack" and e["instance"] in self.born:
                changes.append((e["t"], 1, "ack", e["instance"]))
            elif e["event"] in ("fail", "drop"):
                changes.append((e["t"], 1, "deaf", None))
            elif e["event"] == "close":  # the server closed the webhook: as a removal
                changes.append((e["t"], 1, "set", ""))
        for name, t in self.died.items():
            changes.append((t, 2, "died", name))
        out: list[tuple[float, float, str]] = []
        who: str | None = None
        since = 0.0
        url = ""
        handover: float | None = None  # the receiver died and no POST has failed since
        for t, _, what, value in sorted(changes, key=lambda c: (c[0], c[1])):
            t = min(t, self.horizon)
            stop = (what == "set" and value != url) or what == "deaf" or (what == "died" and value == who)
            stop = stop or (what == "ack" and value != who)
            if stop and who is not None:
                if t > since:
                    out.append((since, t, who))
                who = None
                handover = t if what == "died" else None
            elif what in ("set", "deaf"):
                handover = None
            if what == "set":
                url = value or ""
            elif what == "ack" and who is None and url:
                # after a receiver's death with no failed POST until this answer, no update met a gap:
                # the platform already routed to the one that answers now
                who, since, handover = value, (handover if handover is not None else t), None
        if who is not None and self.horizon > since:
            out.append((since, self.horizon, who))
        return out

    def settled_at(self) -> float:
        """When the last platform event, fault or scheduled restart ended (0 if none)."""
        times = [e["t"] + e.get("seconds", 0.0) + e.get("delay", 0.0) for e in self.trace
                 if e["kind"] in PLATFORM_EVENTS and "event" not in e]  # a webhook POST's step is not one
        return max(times, default=0.0)

    def received(self, r: dict[str, Any]) -> bool:
        """Whether the client itself got this answer (alive, still waiting)."""
        answered = r["answered_at"]
        if answered is None:
            return False
        if not self.alive(r["instance"], answered) and not self._ended_by(r, answered):
            return False
        return r["abandoned_at"] is None or answered <= r["abandoned_at"]

    def _ended_by(self, r: dict[str, Any], t: float) -> bool:
        """The process died at the very instant it got this answer, and not by the platform's hand: it
        was there to get it, and the answer ended it (a bot that calls ``os._exit`` on a 409)."""
        name = r["instance"]
        return self.died.get(name) == t and r["abandoned_at"] is None and (name, t) not in self.stopped_at

    def alive_when_kicked(self, victim: dict[str, Any], t: float) -> bool:
        """The victim's process was there when its poll was kicked at ``t``, even if the 409 ended it then."""
        return self.alive(victim["instance"], t) or (victim["answered_at"] == t and self._ended_by(victim, t))
