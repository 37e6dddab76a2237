"""A Verdict: every checker, the metrics and the reachability counts of one run."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fake_telegram.core.delivery import CONNECTION_CLOSED

from ..sim.trace import Trace
from .checkers import REPLY_METHODS, Check, downtime, liveness, longest_gap, replies, single_poller, updates
from .history import History
from .status import (
    ERROR,
    FACTS,
    FAIL,
    INCONCLUSIVE,
    PASS,
    Crash,
    Cut,
    Finding,
    all_crashed,
    crashes,
    cut_short,
    findings,  # fmt: skip
    never_polled,
    summary,
)

CHECKS = ("single_poller", "liveness", "lost_updates", "duplicates")


@dataclass
class Verdict:
    checks: dict[str, Check]
    metrics: dict[str, Any]
    reached: dict[str, int]  # "sometimes" coverage: did the run get anywhere interesting?
    trace: Trace = field(repr=False, compare=False)  # None once pickled
    details: dict[str, Any] = field(default_factory=dict)
    status: str = PASS  # PASS, FAIL, INCONCLUSIVE (cut short, or a check could not decide) or ERROR
    reason: str = ""
    crashes: list[Crash] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    cut: Cut | None = None  # set when the run stopped before its horizon

    @functools.cached_property
    def digest(self) -> str:
        """The judged trace's hash; computed when asked (it costs more than all the checks)."""
        return self.trace.digest()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (from explore's worker processes, say) with its digest, not its trace."""
        return {**self.__dict__, "digest": self.digest, "trace": None}

    @property
    def passed(self) -> bool:
        """True only for PASS: an error, a cut-short run or an undecided check is not a pass."""
        return self.status == PASS

    @property
    def trusted(self) -> bool:
        """Whether the run judged is the whole run of a bot that worked (not ERROR, not cut short)."""
        return self.status != ERROR and self.cut is None

    def outcome(self, name: str) -> str:
        passed = self.checks[name].passed
        if passed is None:
            return "error" if self.status == ERROR else "inconclusive"
        return "pass" if passed else "fail"

    def differences(self, expect: dict[str, str]) -> list[str]:
        """What differs from ``expect`` (check -> outcome, and optionally ``status``).

        Without ``expect`` everything must pass. An ERROR or a cut-short run always differs
        unless ``expect`` names that status: matching outcomes of a run that cannot be
        trusted would be a false pass."""
        want = expect.get("status")
        checks = {k: v for k, v in expect.items() if k != "status"}
        out = []
        if want is not None and want.upper() != self.status:
            out.append(f"status: expected {want.lower()}, got {self.status.lower()} ({self.reason})")
        elif want is None and (not self.trusted or (not checks and self.status != PASS)):
            out.append(f"status: {self.status.lower()} ({self.reason})")
        if not expect:
            out += [f"{name}: fail" for name, check in self.checks.items() if check.passed is False]
        out += [f"{name}: expected {v}, got {self.outcome(name)}" for name, v in checks.items() if self.outcome(name) != v]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.lower(),
            "reason": self.reason,
            "cut_short": None if self.cut is None else {"t": self.cut.t, "by": self.cut.by},
            "crashes": [c.to_json() for c in self.crashes],
            "findings": [f.to_json() for f in self.findings],
            "checks": {n: {"outcome": self.outcome(n), "note": c.note,
                           "violations": [v.__dict__ | {"instances": list(v.instances), "evidence": list(v.evidence)}
                                          for v in c.violations]} for n, c in self.checks.items()},  # fmt: skip
            "metrics": self.metrics,
            "reached": self.reached,
            "digest": self.digest,
        }

    def describe(self, limit: int = 5) -> str:
        lines = [f"verdict: {self.status}   trace {self.digest}"]
        if self.status != PASS:
            lines.append(f"  reason: {self.reason}")
        for name, check in self.checks.items():
            lines.append(f"  {name:14} {self.outcome(name):12} {check.note}")
            for v in check.violations[:limit]:
                evidence = f"  (requests {', '.join(map(str, v.evidence))})" if v.evidence else ""
                lines.append(f"    t={v.t:9.3f}s  {v.what}{evidence}")
            if len(check.violations) > limit:
                lines.append(f"    … and {len(check.violations) - limit} more")
        m = self.metrics
        lines.append(f"  downtime {m['downtime']:.3f} s, longest gap {m['longest_gap']:.3f} s, "
                     f"409s {m['conflicts']}, first poll after deploy {m['first_poll_after_deploy']}")  # fmt: skip
        if "webhook" in m:  # webhook runs only: a polling run's text stays as it was
            lines.append("  " + webhook_line(m["webhook"]))
        twice = m.get("replies", {}).get("answered_twice", [])
        if twice:
            lines.append(f"  replies: {len(twice)} update(s) answered twice: " + "; ".join(
                f"update {a['update_id']} by {' and '.join(a['instances'])} ({a['replies']} messages)" for a in twice[:limit])
                + (f"; … and {len(twice) - limit} more" if len(twice) > limit else ""))  # fmt: skip
        lines.append("  reached: " + ", ".join(f"{k}={v}" for k, v in self.reached.items()))
        for title, items in (("crashes (uncaught exceptions, unasked non-zero exits)", self.crashes),
                             ("findings (what a simulation refuses or models: threads, sockets, blocking calls)", self.findings)):  # fmt: skip
            if items:
                lines.append(f"  {title}:")
                lines += [f"    {item.line()}" for item in items[:limit]]
                if len(items) > limit:
                    lines.append(f"    … and {len(items) - limit} more kinds")
        return "\n".join(lines)


def webhook_line(w: dict[str, Any]) -> str:
    """One line of webhook figures: deaf time, POST outcomes, delivery latency, last_error, pending at the end."""
    lat = w["latency"]
    latency = (f"latency n={lat['count']} p50 {lat['p50']:.3f} s p95 {lat['p95']:.3f} s max {lat['max']:.3f} s"
               if lat["count"] else "latency n=0")  # fmt: skip
    failed = ", ".join(f"{k}: {v}" for k, v in w["failed"].items()) or "none"
    if w["last_error"] is None and w["last_error_at_end"] is None:
        error = "no last_error"
    else:
        end = w["last_error_at_end"]
        error = (f"last_error {w['last_error']!r} ("
                 + ("still set at the end" if end == w["last_error"] else
                    "cleared by the end" if end is None else f"at the end {end!r}") + ")")  # fmt: skip
    pending = "?" if w["pending_at_end"] is None else w["pending_at_end"]
    return (f"webhook: deaf {w['deaf']:.3f} s, {w['posts']} POSTs, failed {{{failed}}}, {w['dropped']} dropped, "
            f"{w['aborted']} aborted, {latency}, {error}, pending at the end {pending}, "
            f"{w['acked_without_reply']} acknowledged without a reply")


def judge(trace: Trace, *, liveness_bound: float = 60.0) -> Verdict:
    cut = cut_short(trace)
    h = History(trace, None if cut is None else cut.t)
    lost, duplicates, update_details = updates(h)
    checks = {
        "single_poller": single_poller(h),
        "liveness": liveness(h, liveness_bound),
        "lost_updates": lost,
        "duplicates": duplicates,
    }
    crashed = crashes(h)
    found = findings(trace)
    status, reason, checks = _assess(h, checks, cut, crashed)
    if status == PASS and (escapes := [f for f in found if f.refused]):
        status = INCONCLUSIVE  # the bot ran without what it tried to do: a pass would not be about the bot
        reason = (f"the bot tried what a simulation refuses ({escapes[0].line()}"
                  f"{f'; and {len(escapes) - 1} more kind(s)' if len(escapes) > 1 else ''}) and went on without "
                  f"it: every check passed, but not for the bot as it runs in production")  # fmt: skip
    verdict = Verdict(checks, metrics(h) | {"updates": update_details, "replies": replies(h)}, reachability(h, checks), trace,
                      status=status, reason=reason, crashes=crashed, findings=found, cut=cut)  # fmt: skip
    return verdict


def _assess(h: History, checks: dict[str, Check], cut: Cut | None,
            crashed: list[Crash]) -> tuple[str, str, dict[str, Check]]:  # fmt: skip
    """The status and its reason; the checks a cut or an error leaves undecided become so."""
    if cut is not None:
        kept = {n: c if c.passed is False and n in FACTS else
                Check(n, None, note=f"{cut.reason.split(':')[0]}: not judged past t={cut.t:g} s") for n, c in checks.items()}  # fmt: skip
        failed = [n for n, c in kept.items() if c.passed is False]
        if not any(r["method"] == "getUpdates" and r["instance"] in h.born for r in h.requests):
            cut = Cut(cut.t, cut.by, cut.reason + "; no instance had sent a getUpdates by then")
        if failed:
            return FAIL, f"fails {', '.join(failed)} before the run was {cut.reason}", kept
        return INCONCLUSIVE, cut.reason, kept
    never = never_polled(h)
    error = never or all_crashed(h, crashed)
    if error is not None:
        if never is not None and (refused := [f for f in findings(h.trace) if f.refused]):
            error += f"; the simulation refused what it tried: {refused[0].line()}"
        note = "not judged: the bot never polled" if never is not None else "not judged: every instance crashed"
        return ERROR, error, {n: c if c.passed is False else Check(n, None, note=note) for n, c in checks.items()}
    if any(c.passed is False for c in checks.values()):
        return FAIL, summary(checks), checks
    if any(c.passed is None for c in checks.values()):
        return INCONCLUSIVE, summary(checks), checks
    return PASS, summary(checks), checks


def metrics(h: History) -> dict[str, Any]:
    first = min([p.start for p in h.polls] + [s for s, _, _ in h.receiving], default=h.horizon)
    conflicts = Counter(r["instance"] for r in h.requests if r["status"] == 409 and h.received(r))
    deploys = [e["t"] for e in h.trace.of("deploy")]
    after = []
    for t in deploys:
        starts = [p.start for p in h.polls if p.start >= t and h.born.get(p.instance, -1) >= t]
        after.append(round(min(starts) - t, 6) if starts else None)
    overlap, gap = live_pollers(h, first)
    webhook = h.webhook_steps or h.trace.of("webhook_info")
    extra = {"webhook": webhook_metrics(h, first)} if webhook else {}  # polling runs: as before
    return extra | {
        "overlap": overlap,
        "gap": gap,
        "downtime": round(downtime(h, first), 6),
        "longest_gap": round(longest_gap(h.serving_intervals(), first, h.horizon), 6),
        "conflicts": dict(sorted(conflicts.items())),
        "first_poll_after_deploy": after,
        "exit_codes": dict(sorted(h.exit_codes.items())),
    }


def webhook_metrics(h: History, first: float) -> dict[str, Any]:
    """What the webhook POSTs show: deaf time (nobody polls and nobody answers), POSTs per outcome."""
    steps = h.webhook_steps
    answered = Counter(e["instance"] for e in steps if e["event"] == "ack")
    failed = Counter(str(e.get("status") or e.get("error")) for e in steps if e["event"] == "fail")
    return {
        "deaf": round(downtime(h, first), 6),
        "posts": sum(1 for e in steps if e["event"] == "deliver"),
        "answered": dict(sorted((str(k), v) for k, v in answered.items())),
        "failed": dict(sorted(failed.items())),
        "dropped": sum(1 for e in steps if e["event"] == "drop"),
        "aborted": sum(1 for e in steps if e["event"] == "abort"),
        "latency": delivery_latency(h),
        **last_error(h),
        "acked_without_reply": acked_without_reply(h),
    }


def acked_without_reply(h: History) -> int:
    """Updates an instance answered 2xx (Telegram forgets them) that no reply was ever sent for: a handler
    killed after it started (lost_updates counts those as lost too), or one that failed after the ack
    (handled, for lost_updates): what a user of a bot that answers every message waited for in vain."""
    acked = {e["update_id"] for e in h.webhook_steps if e["event"] == "ack"}
    replied = {r.get("handling") for r in h.requests if r["method"] in REPLY_METHODS and r["status"] == 200}
    return len(acked - replied)


def delivery_latency(h: History) -> dict[str, Any]:
    """Seconds from an update's creation (its push) to the first 2xx answer to a POST of it: how long
    a user waited for the bot to get the message. Updates never answered are not in it (``count``)."""
    pushed = {e["update_id"]: e["t"] for e in h.trace.of("push") if e["update_id"] is not None}
    acked: dict[int, float] = {}
    for e in h.webhook_steps:
        if e["event"] == "ack" and e["update_id"] in pushed:
            acked.setdefault(e["update_id"], e["t"])
    waits = sorted(round(t - pushed[u], 6) for u, t in acked.items())
    if not waits:
        return {"count": 0, "p50": None, "p95": None, "max": None}
    return {"count": len(waits), "p50": _rank(waits, 50), "p95": _rank(waits, 95), "max": waits[-1]}


def _rank(ordered: list[float], percent: int) -> float:
    """The nearest-rank percentile: the smallest value with at least ``percent`` % of them at or below it."""
    return ordered[max(0, -(-len(ordered) * percent // 100) - 1)]


def last_error(h: History) -> dict[str, Any]:
    """The last delivery error getWebhookInfo reported during the run (a clean close is never stored), and
    the server's own getWebhookInfo at the end: its last_error_message and pending_update_count."""
    stored = [e["error"] for e in h.webhook_steps if e["event"] == "fail" and e.get("error") != CONNECTION_CLOSED]
    [info] = h.trace.of("webhook_info")[-1:] or [{}]
    return {
        "last_error": stored[-1] if stored else None,
        "last_error_at_end": info.get("last_error_message"),
        "pending_at_end": info.get("pending_update_count"),
    }


def live_pollers(h: History, start: float) -> tuple[float, float]:
    """Seconds with two or more, and with no, live pollers (alive and past their first poll).

    This is docs/platforms.md §4's overlap: a bot that has started polling counts
    until it exits, whether it is in the slot, backing off or kicked.
    """
    first_poll: dict[str, float] = {}
    for r in h.requests:
        if r["method"] == "getUpdates" and r["instance"] in h.born:
            first_poll.setdefault(r["instance"], r["t"])
    edges = sorted([(t, 1) for t in first_poll.values()] + [(h.death(i), -1) for i in first_poll if h.death(i) >= first_poll[i]])
    overlap = gap = 0.0
    live, last = 0, start
    for t, delta in edges:
        t = max(start, min(t, h.horizon))
        if live >= 2:
            overlap += t - last
        elif live == 0:
            gap += t - last
        live, last = live + delta, t
    if live >= 2:
        overlap += h.horizon - last
    elif live == 0:
        gap += h.horizon - last
    return round(overlap, 6), round(gap, 6)


def reachability(h: History, checks: dict[str, Check]) -> dict[str, int]:
    return {
        "lifetimes_overlap": overlapping_pairs([(h.born[i], h.death(i)) for i in h.instances]),
        "two_pollers": len(checks["single_poller"].violations),
        "conflict_409": sum(1 for r in h.requests if r["status"] == 409),
        "pause_in_takeover": sum(1 for e in h.trace.of("pause") if _alive_at(h, e["t"]) > 1),
        "client_timeout": sum(1 for r in h.requests if r["abandoned_at"] is not None),
    }


def overlapping_pairs(lifetimes: list[tuple[float, float]]) -> int:
    """Pairs whose lifetimes overlap (``max(births) < min(deaths)``), by one sweep: O(n log n).

    At each birth, every instance alive then (born no later, not yet dead) makes a pair with
    it; a death at that same instant does not (the intervals are half-open), so deaths sort first."""
    edges = sorted([(b, 1) for b, d in lifetimes if b < d] + [(d, 0) for b, d in lifetimes if b < d])
    alive = pairs = 0
    for _, born in edges:
        if born:
            pairs += alive
            alive += 1
        else:
            alive -= 1
    return pairs


def _alive_at(h: History, t: float) -> int:
    return sum(1 for i in h.instances if h.alive(i, t))
