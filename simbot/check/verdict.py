"""A Verdict: every checker, the metrics and the reachability counts of one run."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..sim.trace import Trace
from .checkers import Check, downtime, liveness, longest_gap, single_poller, updates
from .history import History

CHECKS = ("single_poller", "liveness", "lost_updates", "duplicates")


@dataclass
class Verdict:
    checks: dict[str, Check]
    metrics: dict[str, Any]
    reached: dict[str, int]  # "sometimes" coverage: did the run get anywhere interesting?
    trace: Trace = field(repr=False, compare=False)  # None once pickled
    details: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def digest(self) -> str:
        """The judged trace's hash; computed when asked (it costs more than all the checks)."""
        return self.trace.digest()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (from explore's worker processes, say) with its digest, not its trace."""
        return {**self.__dict__, "digest": self.digest, "trace": None}

    @property
    def passed(self) -> bool:
        return all(c.passed is not False for c in self.checks.values())

    def outcome(self, name: str) -> str:
        passed = self.checks[name].passed
        return "inconclusive" if passed is None else "pass" if passed else "fail"

    def to_json(self) -> dict[str, Any]:
        return {
            "checks": {n: {"outcome": self.outcome(n), "note": c.note,
                           "violations": [v.__dict__ | {"instances": list(v.instances), "evidence": list(v.evidence)}
                                          for v in c.violations]} for n, c in self.checks.items()},  # fmt: skip
            "metrics": self.metrics,
            "reached": self.reached,
            "digest": self.digest,
        }

    def describe(self, limit: int = 5) -> str:
        lines = [f"verdict: {'PASS' if self.passed else 'FAIL'}   trace {self.digest}"]
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
        lines.append("  reached: " + ", ".join(f"{k}={v}" for k, v in self.reached.items()))
        return "\n".join(lines)


def judge(trace: Trace, *, liveness_bound: float = 60.0) -> Verdict:
    h = History(trace)
    lost, duplicates, update_details = updates(h)
    checks = {
        "single_poller": single_poller(h),
        "liveness": liveness(h, liveness_bound),
        "lost_updates": lost,
        "duplicates": duplicates,
    }
    return Verdict(checks, metrics(h) | {"updates": update_details}, reachability(h, checks), trace)


def metrics(h: History) -> dict[str, Any]:
    first = min((p.start for p in h.polls), default=h.horizon)
    conflicts = Counter(r["instance"] for r in h.requests if r["status"] == 409 and h.received(r))
    deploys = [e["t"] for e in h.trace.of("deploy")]
    after = []
    for t in deploys:
        starts = [p.start for p in h.polls if p.start >= t and h.born.get(p.instance, -1) >= t]
        after.append(round(min(starts) - t, 6) if starts else None)
    overlap, gap = live_pollers(h, first)
    return {
        "overlap": overlap,
        "gap": gap,
        "downtime": round(downtime(h, first), 6),
        "longest_gap": round(longest_gap(h.polling_intervals(), first, h.horizon), 6),
        "conflicts": dict(sorted(conflicts.items())),
        "first_poll_after_deploy": after,
        "exit_codes": dict(sorted(h.exit_codes.items())),
    }


def live_pollers(h: History, start: float) -> tuple[float, float]:
    """Seconds with two or more, and with no, live pollers (alive and past their first poll).

    This is deploy-platforms.md §4's overlap: a bot that has started polling counts
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
    generations_overlap = sum(
        1 for a in h.instances for b in h.instances
        if a < b and max(h.born[a], h.born[b]) < min(h.death(a), h.death(b))
    )  # fmt: skip
    takeover_pauses = sum(1 for e in h.trace.of("pause") if sum(h.alive(i, e["t"]) for i in h.instances) > 1)
    return {
        "lifetimes_overlap": generations_overlap,
        "two_pollers": len(checks["single_poller"].violations),
        "conflict_409": sum(1 for r in h.requests if r["status"] == 409),
        "pause_in_takeover": takeover_pauses,
        "client_timeout": sum(1 for r in h.requests if r["abandoned_at"] is not None),
    }
