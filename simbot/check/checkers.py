"""The checkers: pure functions from a trace's history to findings (docs/checkers.md)."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .history import History


@dataclass(frozen=True)
class Violation:
    t: float
    what: str
    instances: tuple[str, ...]
    evidence: tuple[int, ...] = ()  # request ids in the trace that prove it


@dataclass
class Check:
    name: str
    passed: bool | None  # None: the run could not decide (e.g. too short to settle)
    violations: list[Violation] = field(default_factory=list)
    note: str = ""


def single_poller(h: History) -> Check:
    """Two different live instances must never both be polling."""
    found: list[Violation] = []
    for r in h.requests:
        victim_id = r["kicked"]
        if victim_id is None:
            continue
        victim = h.by_id[victim_id]
        a, b, t = victim["instance"], r["instance"], r["t"]
        gave_up = victim["abandoned_at"] is not None and victim["abandoned_at"] <= t
        if a != b and h.alive_when_kicked(victim, t) and h.alive(b, t) and not gave_up:
            found.append(
                Violation(t, f"{b}'s {r['method']} kicked {a}'s live poll", (a, b), (victim_id, r["id"]))
            )
    for r in h.requests:
        if r["method"] != "getUpdates" or not r["update_ids"] or r["long_poll"] or not h.received(r):
            continue
        for p in h.polls:
            if p.instance != r["instance"] and p.covers(r["t"]) and h.alive(r["instance"], r["t"]):
                found.append(Violation(r["t"], f"{r['instance']} fetched updates while {p.instance} was polling",
                                       (p.instance, r["instance"]), (p.request["id"], r["id"])))  # fmt: skip
    found.sort(key=lambda v: (v.t, v.evidence))
    return Check("single_poller", not found, found)


def liveness(h: History, bound: float = 60.0) -> Check:
    """After the last platform event settles, exactly one live instance polls, and keeps polling."""
    settle = h.settled_at() + bound
    if settle >= h.horizon:
        return Check("liveness", None, note=f"the run ends before {bound:g} s after the last platform event")
    window = [(max(s, settle), min(e, h.horizon), who) for s, e, who in h.polling_intervals() if e > settle]
    pollers = sorted({who for *_, who in window})
    # webhook mode: an instance receiving POSTs gets the updates as a poller does (history.py)
    hooked = [(max(s, settle), min(e, h.horizon), who) for s, e, who in h.receiving if e > settle]
    receivers = sorted({who for *_, who in hooked})
    webhook = bool(h.webhook_steps)
    if not pollers and not receivers and abandoned_after_crash(h) < h.horizon:
        return Check(
            "liveness", None, note="a crashed instance that the platform does not restart: no bot to judge"
        )
    if not pollers and not receivers:
        if webhook:
            return Check("liveness", False, [Violation(settle, "nobody polls and no instance answers webhook POSTs",
                                                       ())], "zero pollers, zero webhook receivers")  # fmt: skip
        return Check("liveness", False, [Violation(settle, "nobody polls", ())], "zero pollers")
    if len(pollers) > 1:
        return Check("liveness", False, [Violation(settle, "more than one instance polls", tuple(pollers))],
                     settled_note(h, bound))
    gap = longest_gap(window + hooked, settle, h.horizon)
    if gap > bound:
        what = "nobody polls or answers webhook POSTs" if receivers else "polling stops"
        return Check("liveness", False, [Violation(settle, f"{what} for {gap:g} s", tuple(pollers + receivers))],
                     settled_note(h, bound))
    if not pollers:
        return Check("liveness", True, note=f"{', '.join(receivers)} answer(s) webhook POSTs from {settle:g} s on "
                                            f"({settled_note(h, bound, webhook=True)})")  # fmt: skip
    return Check("liveness", True, note=f"{pollers[0]} polls from {settle:g} s on ({settled_note(h, bound)})")


def settled_note(h: History, bound: float, *, webhook: bool = False) -> str:
    """Why liveness is judged from where it is: the reader sees a number, not the rule."""
    last = h.settled_at()
    required = "an instance answering webhook POSTs, with no gap" if webhook else "exactly one poller"
    return (f"settled at {last + bound:g} s: the last platform event or fault ended at {last:g} s, plus the "
            f"{bound:g} s bound; from there {required} is required")


def abandoned_after_crash(h: History) -> float:
    """When the platform left an instance that the harness crashed down for good (else the horizon).

    A crash is the test's doing, not the start-up's; if the platform does not restart it
    (compose ``restart: no``, a laptop), what follows says nothing about the start-up."""
    crashed = {e["instance"] for e in h.trace.of("crash")}
    return min((e["t"] for e in h.trace.of("stays_down") if e["instance"] in crashed), default=h.horizon)


def longest_gap(intervals: list[tuple[float, float, str]], start: float, end: float) -> float:
    gap, covered = 0.0, start
    for s, e, _ in sorted(intervals):
        gap = max(gap, s - covered)
        covered = max(covered, e)
    return max(gap, end - covered)


def downtime(h: History, start: float) -> float:
    total, covered = 0.0, start
    for s, e, _ in h.serving_intervals():
        if e <= covered:
            continue
        total += max(0.0, s - covered)
        covered = max(covered, e)
    return total + max(0.0, h.horizon - covered)


def _lost_what(uid: int, cut: dict[str, float] | None) -> str:
    if not cut:
        return f"update {uid} never reached a live instance"
    who = ", ".join(f"{name} (ended at {t:g} s)" for name, t in sorted(cut.items(), key=lambda kv: kv[1]))
    return f"update {uid} was taken but its handling never finished before its process ended: {who}"


def updates(h: History, late_after: float = 60.0) -> tuple[Check, Check, dict[str, Any]]:
    """Lost updates (pushed, never handled) and duplicates (handled twice).

    "Handled" comes from ``handled`` events, which the drivers record for every update
    the bot's application processes; a trace without them is judged by deliveries. An
    update whose every handling was ``interrupted`` (its process died, SIGKILL or exit,
    before the framework's dispatch of it returned) was never answered: it is lost too.
    """
    pushed = {e["update_id"]: e["t"] for e in h.trace.of("push") if e["update_id"] is not None}
    fetched: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for r in h.requests:
        if r["method"] == "getUpdates" and r["update_ids"] and h.received(r):
            for uid in r["update_ids"]:
                fetched[uid].append((r["answered_at"], r["instance"]))
    handled: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for e in h.trace.of("handled"):
        handled[e["update_id"]].append((e["t"], e["instance"]))
    # judge by what the bots processed when they say so (our drivers do); else by deliveries
    received = handled if h.trace.of("handled") else fetched
    # a restart the platform holds past the end leaves updates queued at Telegram (kept 24 h), not lost
    held_from = min([e["t"] for e in h.trace.of("restart_scheduled") if e["t"] + e["delay"] > h.horizon]
                    + [abandoned_after_crash(h)])  # fmt: skip
    cut: dict[int, dict[str, float]] = defaultdict(dict)  # update -> instance -> when it ended, mid-handling
    cuts: Counter[tuple[int, str]] = Counter()  # (update, instance) -> handlings that never finished
    for e in h.trace.of("interrupted"):
        for uid in e["update_ids"]:
            cut[uid][e["instance"]] = e["t"]
            cuts[uid, e["instance"]] += 1
    if cuts:  # an update is finished if some instance took it more often than it was cut off in it
        took = Counter((uid, who) for uid, got in received.items() for _, who in got)
        finished = {uid for (uid, who), n in took.items() if n > cuts[uid, who]}
    else:
        finished = set(received)
    missing = [(uid, t) for uid, t in sorted(pushed.items()) if uid not in finished and h.horizon - t > late_after]
    lost = [
        Violation(t, _lost_what(uid, cut.get(uid)), tuple(cut.get(uid, ())))
        for uid, t in missing
        if uid in cut or held_from >= h.horizon or t < held_from - late_after  # a bot had its minute to get it
    ]  # an update cut off in a handler was taken from Telegram: never "still queued" there
    queued = len(missing) - len(lost)
    duplicates, after_kill, after_fault = [], [], []
    seen = {a["update_id"]: a for a in replies(h)["answered_twice"]}  # what the user saw of a duplicate
    for uid, deliveries in sorted(received.items()):
        for (_, first), (t1, again) in itertools.pairwise(deliveries):
            v = Violation(t1, f"update {uid} received by {first} and again by {again}", (first, again))
            if uid in seen:
                v = Violation(t1, f"{v.what}; the user got {seen[uid]['replies']} replies", v.instances,
                              tuple(seen[uid]["requests"]))  # fmt: skip
            if _confirmed_before(h, first, uid, t1):
                duplicates.append(v)
            elif first in h.killed:
                after_kill.append(v)
            elif _refused_confirm(h, first, uid, t1):
                after_fault.append(v)
            else:
                duplicates.append(v)
    details = {"pushed": len(pushed), "received": len(received), "lost": len(lost),
               "duplicates": len(duplicates), "duplicates_after_sigkill": len(after_kill),
               "duplicates_after_refused_confirm": len(after_fault),
               "fetched_not_handled": sum(  # e.g. a probe that took updates and dropped them
                   1 for uid, got in fetched.items() for _, who in got
                   if handled and who not in {w for _, w in handled.get(uid, [])}),
               "judged_by": "handled" if handled else "delivered"}  # fmt: skip
    interrupted = sum(1 for v in lost if v.instances)
    if interrupted:  # only where it happened: other runs' metrics read as before
        details["lost_in_a_handler"] = interrupted
    details["queued_while_restart_held"] = queued
    lost_check = (Check("lost_updates", None, note=f"{queued} updates still queued: the platform holds or gave up the restart")
                  if queued and not lost else Check("lost_updates", not lost, lost))  # fmt: skip
    return lost_check, Check("duplicates", not duplicates, duplicates), details


def _refused_confirm(h: History, instance: str, uid: int, t: float) -> bool:
    """Whether Telegram refused (429, 5xx) a getUpdates of ``instance`` that would have confirmed ``uid``."""
    return any(r["instance"] == instance and r["method"] == "getUpdates" and r["t"] < t
               and (r["status"] == 429 or r["status"] >= 500) and _offset(r) > uid for r in h.requests)  # fmt: skip


def _offset(r: dict[str, Any]) -> int:
    offset = r["params"].get("offset", "")
    return int(offset) if offset.lstrip("-").isdigit() else 0


def _confirmed_before(h: History, instance: str, uid: int, t: float) -> bool:
    """Whether ``instance`` confirmed ``uid`` (a later offset above it) before ``t``.

    Only a getUpdates the server ran confirms: a 429 or 5xx answer never reached the queue."""
    for r in h.requests:
        if (
            r["instance"] == instance
            and r["method"] == "getUpdates"
            and r["t"] < t
            and r["status"] in (200, 409)
        ):
            offset = r["params"].get("offset", "")
            if offset.lstrip("-").isdigit() and int(offset) > uid:
                return True
    return False


# What a chat user sees as a new message: a reply. Chat actions, edits, answers to callbacks are not.
REPLY_METHODS = frozenset({
    "sendMessage", "copyMessage", "copyMessages", "forwardMessage", "forwardMessages", "sendPhoto", "sendDocument",
    "sendAudio", "sendVideo", "sendVoice", "sendVideoNote", "sendAnimation", "sendSticker", "sendLocation",
    "sendVenue", "sendContact", "sendPoll", "sendDice", "sendMediaGroup", "sendPaidMedia", "sendInvoice", "sendGame",
})  # fmt: skip


def replies(h: History) -> dict[str, Any]:
    """Replies per update, and the updates a user saw answered twice.

    A request carries ``handling`` when the bot sent it while its framework was processing
    that update (drivers/instrument.py). One handling may send several messages (that is the
    bot's design); an update is *answered twice* when its replies come from two or more
    instances, or from one instance that handled it more than once: what a user sees when
    two instances both handle a duplicate."""
    cached: dict[str, Any] | None = getattr(h, "_replies", None)  # read by the duplicates check and the metrics
    if cached is not None:
        return cached
    sent: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for r in h.requests:
        uid = r.get("handling")
        if uid is not None and r["method"] in REPLY_METHODS and r["status"] == 200:
            sent[uid].append((r["instance"], r["id"]))
    handlings: dict[tuple[int, str], int] = defaultdict(int)
    for e in h.trace.of("handled"):
        handlings[(e["update_id"], e["instance"])] += 1
    twice = []
    for uid, by in sorted(sent.items()):
        who = sorted({i for i, _ in by})
        if len(who) > 1 or handlings[(uid, who[0])] > 1:
            twice.append({"update_id": uid, "instances": who, "replies": len(by), "requests": [rid for _, rid in by]})
    h._replies = {"sent": sum(len(by) for by in sent.values()), "updates_answered": len(sent), "answered_twice": twice}  # type: ignore[attr-defined]
    return h._replies  # type: ignore[attr-defined,no-any-return]

