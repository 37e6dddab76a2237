"""Whether a verdict can be trusted: a run cut short, a bot that never polled, a bot that only crashed.

The checkers judge what the trace shows; this module judges the trace itself. A run the
watchdog or the step limit stopped did not reach its horizon, so nothing that needs the
whole run can pass; a bot that never sent a getUpdates never met the 409 rule at all, so
"one poller" would be a vacuous pass. Both must read as such, never as PASS (docs/checkers.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..sim.simulation import OUTSIDE_THE_RUN as UNRESOLVED
from ..sim.trace import Trace
from .history import History

PASS, FAIL, INCONCLUSIVE, ERROR = "PASS", "FAIL", "INCONCLUSIVE", "ERROR"
STATUSES = (PASS, FAIL, INCONCLUSIVE, ERROR)
COMPLETE = ("horizon", "quiet", "deadlock")  # endings after which nothing more would have happened
FACTS = ("single_poller", "duplicates")  # a violation seen before a cut is still a violation
PLATFORM_CAUSES = ("signal", "kill", "crash", "stop")  # an exit after one of these is the platform's doing
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")


def scrub(text: Any) -> str:
    """No memory addresses: the same run must print the same words."""
    return _ADDRESS.sub("0x…", str(text or ""))


@dataclass(frozen=True)
class Crash:
    """One kind of crash (same type, message and line), however often it happened."""

    type: str
    message: str
    where: str
    count: int
    instances: tuple[str, ...]
    first_t: float

    def line(self) -> str:
        return _counted(f"{self.type}: {self.message}" if self.message else self.type, self)

    def to_json(self) -> dict[str, Any]:
        return _as_json(self)


@dataclass(frozen=True)
class Finding:
    """Something a bot did that a simulation refuses (a thread, a socket) or carries out its own way (a blocking sleep)."""

    what: str
    where: str
    count: int
    instances: tuple[str, ...]
    first_t: float

    def line(self) -> str:
        return _counted(self.what, self) + ("" if self.refused else "  [modelled: carried out as asked]")

    @property
    def refused(self) -> bool:
        """The simulation said no (a thread, a socket, a process): the bot went on without it. A sleep
        that blocked or an ``os._exit`` were modelled, so they do not make a pass untrustworthy."""
        return not self.what.startswith(MODELLED)

    def to_json(self) -> dict[str, Any]:
        return _as_json(self)


@dataclass(frozen=True)
class Cut:
    """A run stopped before its horizon: when, and by what."""

    t: float
    by: str
    reason: str


def _counted(what: str, group: Crash | Finding) -> str:
    """One line for a group of like events: what, where, how often, by whom, since when."""
    at = f" at {group.where}" if group.where else ""
    return f"{what}{at}  ×{group.count} ({_who(group.instances)}, first at t={group.first_t:g} s)"


MODELLED = ("blocking time.sleep", "os._exit")  # findings the simulation carried out as the bot asked
JSON_INSTANCES = 20  # a crash loop restarts thousands of times: name the first few, count the rest


def _as_json(group: Crash | Finding) -> dict[str, Any]:
    shown = list(group.instances[:JSON_INSTANCES])
    extra = {"refused": group.refused} if isinstance(group, Finding) else {}
    return {**group.__dict__, "instances": shown, "more_instances": len(group.instances) - len(shown), **extra}


def _who(instances: tuple[str, ...]) -> str:
    return ", ".join(instances[:3]) + (f" and {len(instances) - 3} more" if len(instances) > 3 else "")


def crashes(h: History) -> list[Crash]:
    """Uncaught exceptions, plus non-zero exits nobody asked for (``sys.exit(3)``), grouped."""
    trace = h.trace
    caused = _platform_caused(trace)
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    raised = set()
    for e in trace.of("uncaught"):
        raised.add(e["instance"])
        key = (str(e.get("type", "Exception")), scrub(e.get("message")), scrub(e.get("where")))
        groups.setdefault(key, []).append(e)
    for e in trace.of("exit"):
        name = e["instance"]
        if e["code"] not in (0, None) and name not in raised and name not in caused and name in h.born:
            groups.setdefault((f"exit code {e['code']}", "", ""), []).append(e)
    out = [Crash(*key, len(es), tuple(dict.fromkeys(e["instance"] for e in es)), es[0]["t"]) for key, es in groups.items()]
    return sorted(out, key=lambda c: (c.first_t, c.type, c.message))


def findings(trace: Trace) -> list[Finding]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in trace.of("finding"):
        groups.setdefault((scrub(e.get("what")), scrub(e.get("where"))), []).append(e)
    out = [Finding(*key, len(es), tuple(dict.fromkeys(str(e["instance"]) for e in es)), es[0]["t"])
           for key, es in groups.items()]  # fmt: skip
    return sorted(out, key=lambda f: (f.first_t, f.what, f.where))


def cut_short(trace: Trace) -> Cut | None:
    """The cut, if the run did not end by itself (an unknown ending is not trusted either)."""
    ended_by = trace.meta.get("ended_by")
    if ended_by is None or ended_by in COMPLETE:
        return None
    dog = trace.of("watchdog")
    if str(ended_by).startswith("watchdog") and dog:
        e = dog[-1]
        who = f"{e['instance']} was running" if e.get("instance") else "the harness was running"
        spent = f" after {e['seconds']:g} real seconds" if isinstance(e.get("seconds"), int | float) else ""
        at = f" at {scrub(e.get('where'))}" if e.get("where") else ""
        return Cut(e["t"], str(ended_by), f"cut short by the {ended_by}{spent} at t={e['t']:g} s: {who}{at}")
    t = max((x for r in trace for x in (r["t"], r.get("answered_at"), r.get("abandoned_at")) if x is not None), default=0.0)
    return Cut(t, str(ended_by), f"cut short at t={t:g} s by the {ended_by}")


def _platform_caused(trace: Trace) -> set[str]:
    return {e["instance"] for e in trace if e["kind"] in PLATFORM_CAUSES and e["instance"] is not None}


def never_polled(h: History) -> str | None:
    """Why no instance ever sent a getUpdates, per instance; None if one did."""
    if any(r["method"] == "getUpdates" and r["instance"] in h.born for r in h.requests):
        return None
    if any(e["event"] == "ack" and e["instance"] in h.born for e in h.webhook_steps):
        return None  # webhook mode: an instance answered a POST with a 2xx, so it got updates
    if not h.instances:
        return "no instance was ever started"
    elsewhere = _webhook_elsewhere(h)
    if elsewhere is not None:
        return elsewhere
    caused = _platform_caused(h.trace)
    raised = {e["instance"]: e for e in h.trace.of("uncaught")}
    stuck = {e["instance"]: e for e in h.trace.of("deadlock")}
    unreachable = {e["instance"]: e for e in h.trace.of("unreachable")}
    wrong_port = {e["instance"]: e for e in h.trace.of("wrong_port")}
    took: dict[str, set[int]] = {}
    for e in h.trace.of("handled"):
        took.setdefault(e["instance"], set()).add(e["update_id"])
    reasons: dict[str, list[str]] = {}
    for name in h.instances:
        if name in raised:
            e = raised[name]
            why = f"raised {e.get('type')}: {scrub(e.get('message'))} at {scrub(e.get('where'))}"
        elif name in unreachable:
            e = unreachable[name]
            why = (f"listened on {e.get('host')}:{e.get('port')} only, which the platform's router (on another "
                   "machine) cannot reach: bind 0.0.0.0")  # fmt: skip
        elif name in wrong_port:
            e = wrong_port[name]
            why = (f"listened on port {', '.join(map(str, e.get('ports') or []))}, but the platform forwards to "
                   f"PORT={e.get('port')}: listen on int(os.environ['PORT'])")  # fmt: skip
        elif name in took:
            fails = [e for e in h.webhook_steps if e["event"] == "fail" and e.get("instance") == name]
            why = (f"took {len(took[name])} update(s) (handled events) but answered no webhook POST with a 2xx "
                   f"(its POSTs got {_failures(fails)})")  # fmt: skip
        elif name in h.died:
            code = h.exit_codes.get(name)
            why = f"was stopped by the platform (exit {code})" if name in caused else f"exited {code}"
        elif name in stuck:
            why = f"deadlocked waiting on {', '.join(map(str, stuck[name].get('waiting_on', []))) or 'nothing'}"
        else:
            why = f"was still booting at the end of the run (t={h.horizon:g} s)"
        reasons.setdefault(why, []).append(name)
    parts = [f"{_who(tuple(names))} {why}" for why, names in reasons.items()]
    if h.webhook_steps:
        return "no instance ever sent a getUpdates or answered a webhook POST: " + "; ".join(parts)
    return "no instance ever sent a getUpdates: " + "; ".join(parts)


def _webhook_elsewhere(h: History) -> str | None:
    """The webhook points at a host that is not the service's (the bot's own production domain, usually):
    Telegram cannot resolve it in the run, so nothing was delivered, whatever the bot did."""
    changes = [r for r in h.requests if r["method"] in ("setWebhook", "deleteWebhook") and r.get("status") == 200]
    last = changes[-1] if changes else None
    url = str((last.get("params") or {}).get("url") or "") if last is not None else ""
    if last is None or last["method"] != "setWebhook" or not url or last["instance"] not in h.born:
        return None  # the bot's own webhook, still set at the end, or another reason applies
    pushed_after = any(e["t"] >= last["t"] for e in h.trace.of("push"))
    if pushed_after and not h.webhook_steps:  # with an address, the fake would have tried to deliver
        return (f"the bot set a webhook ({_shown(url)}) but this platform routes no HTTP to it "
                "(a worker service): no update was delivered. Webhook bots run on the web presets")
    host = _host(url)
    failed = [e for e in h.webhook_steps if e["event"] == "fail" and e["t"] >= last["t"]
              and str(e.get("error") or "").startswith(UNRESOLVED)]  # fmt: skip
    if not failed or _host(str(failed[0].get("url") or "")) != host:
        return None
    return (f"the bot set its webhook to a host this run does not have ({host}): Telegram could not resolve it, "
            f"so no update was delivered ({len(failed)} failed POST(s)). The platform gives the service's address "
            f"in WEBHOOK_URL; if {host} is your app's own address, run with --public-url https://{host} "
            "(a scenario file: platform.public_url)")


def _failures(fails: list[dict[str, Any]]) -> str:
    """``503 ×8, Read timeout expired ×1``: how the POSTs to an instance ended."""
    counts: dict[str, int] = {}
    for e in fails:
        what = str(e.get("status") or e.get("error") or "no answer")
        counts[what] = counts.get(what, 0) + 1
    return ", ".join(f"{what} ×{n}" for what, n in counts.items()) or "no POST failed: none was answered"


def _host(url: str) -> str:
    return urlsplit(url if "://" in url else "https://" + url).hostname or url


def _shown(url: str) -> str:
    """A webhook URL without its path: bots put the token there."""
    return f"https://{_host(url)}/…"


def all_crashed(h: History, found: list[Crash]) -> str | None:
    """Every instance crashed (or, restarted, never got to poll): the bot, not the deploy, is the story."""
    if not found:
        return None
    crashed = {name for c in found for name in c.instances}
    polled = {r["instance"] for r in h.requests if r["method"] == "getUpdates"} | {w for *_, w in h.receiving}
    healthy = [n for n in h.instances if n not in crashed and (n in h.died or n in polled)]
    if healthy:
        return None
    top = max(found, key=lambda c: c.count)
    total = sum(c.count for c in found)
    return f"every instance crashed ({total} crash(es)): {top.line()}"


def summary(checks: dict[str, Any]) -> str:
    """The reason of a complete run's verdict: which checks failed or could not decide."""
    failed = [n for n, c in checks.items() if c.passed is False]
    if failed:
        return "fails " + ", ".join(f"{n} ({len(checks[n].violations)} violation(s))" for n in failed)
    open_ = [n for n, c in checks.items() if c.passed is None]
    if open_:
        return "; ".join(f"{n} inconclusive: {checks[n].note}" for n in open_)
    return f"all {len(checks)} checks pass"
