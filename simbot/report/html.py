"""A self-contained HTML timeline of one run: exact times where the text timeline buckets them.

Every bar and marker is an absolutely positioned div whose left edge is ``t / horizon`` of its
lane's width and which carries ``data-lane``, ``data-kind``, ``data-t`` (and ``data-end``), so a
reader can hover for details and a test can check positions in a real browser. The page has no
network references at all: it must open offline and in a sandboxed headless Chromium.
"""

from __future__ import annotations

import itertools
import math
from html import escape
from typing import Any

from ..check.history import History
from ..check.verdict import Verdict
from ..sim.trace import Trace
from .timeline import _nice_step

PHASES = ("waiting", "backoff", "booting", "stopping", "paused", "polling")  # where they overlap, a later one wins
PLATFORM_MARKS = {"start": "▶", "deploy": "D", "restart": "R", "cutover": "⇄", "scale": "N", "stop": "S", "kill": "K",
                  "crash": "C", "exit": "X", "pause": "P", "resume": "▷", "stray_start": "+", "stray_stop": "−",
                  "restart_scheduled": "r", "stays_down": "↓", "gave_up": "G", "webhook": "W", "outage": "O",
                  "deadlock": "!", "watchdog": "!", "finding": "!",
                  "endpoint_errors": "E", "routing_lag": "L", "slow_handler": "H", "rotate_secret": "T"}  # fmt: skip
SKIP_KEYS = {"t", "kind", "instance"}
CSS = """
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:17px;margin:0 0 4px}
.sub{color:#555;margin:0 0 12px}
.tl{display:grid;grid-template-columns:9rem 1fr;row-gap:6px;margin-right:24px}
.name{font:12px monospace;align-self:center;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.track{position:relative;height:30px;background:#f6f6f6}
.track.platform{height:52px;background:#eef1f5}
.track.axis{height:18px;background:none;border-bottom:1px solid #999}
.track>div{position:absolute;box-sizing:border-box}
.tick{top:0;width:0;height:18px;border-left:1px solid #999}
.tick>span{position:absolute;left:3px;top:0;font-size:11px;color:#555;white-space:nowrap}
.ph,.poll{top:6px;height:18px;min-width:1px}
.booting{background:#9db4d6}.waiting{background:#d6d6d6}.backoff{background:#f2b35b}
.stopping{background:repeating-linear-gradient(45deg,#777 0 4px,#aaa 4px 8px)}.paused{background:#5b6b8c}
.poll{background:#3a9a4a;border-left:1px solid #1f5f2a}
.probe{top:3px;height:24px;min-width:3px;background:#8a4fc9}
.mk{width:0;top:0;height:30px}
.mk>span{position:absolute;transform:translateX(-50%);white-space:nowrap;font-size:11px;line-height:1}
.conflict>span{top:9px;color:#fff;background:#d22;border-radius:6px;padding:1px 3px;font-weight:bold}
.update>span{top:-2px;color:#1565c0}.update.handled>span{top:24px}.update.undelivered>span{color:#999}
.event{z-index:1;height:52px;border-left:1px dashed #567}.event>span{background:#fff;border:1px solid #567;padding:1px 2px}
.push{top:44px;height:8px;border-left:1px solid #1565c0;width:0}
.gap{top:0;height:52px;min-width:1px;background:repeating-linear-gradient(-45deg,#fdd 0 3px,#fff 3px 6px)}
.violation{top:-2px;height:34px;min-width:5px;background:rgba(220,0,0,.2);border:2px solid #d00;z-index:2}
.platform>.violation{height:52px}.violation.liveness{top:26px;height:6px;background:#d00;border:0}
.overlap{top:0;height:6px;background:#e55}.r1>span{top:17px}.r2>span{top:34px}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:14px;height:10px;margin-right:4px}
table{border-collapse:collapse;margin-top:14px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
.pass{color:#1b7a2b;font-weight:bold}.fail{color:#c00;font-weight:bold}.inconclusive{color:#b36b00;font-weight:bold}
ul{margin:0;padding-left:16px}code{font-size:12px}
.banner{padding:8px 12px;margin:0 0 12px;border:2px solid;font-weight:bold}
.banner.error{background:#fde8e8;border-color:#c00;color:#900}.banner.inconclusive{background:#fff4e0;border-color:#b36b00;color:#7a4a00}
.kick>span{top:-3px;color:#b00;font-weight:bold}.kicked>span{top:16px;color:#b00}
.exit{height:30px;border-left:2px solid #333}.exit>span{top:8px;left:3px;transform:none;background:#333;color:#fff;padding:0 2px}
.notes h2{font-size:14px;margin:14px 0 4px}
.receive{top:6px;height:18px;min-width:1px;background:#1f8a8a;border-left:1px solid #0d5555}
.hook{top:0;height:5px;min-width:1px;background:#1f8a8a}.hookfail{top:0;height:52px;border-left:2px solid #d22;width:0}
"""


def html_timeline(trace: Trace, verdict: Verdict, title: str = "") -> str:
    """The whole page as one string; the same trace and verdict give the same bytes."""
    h = History(trace)
    page = _Page(h)
    step = _nice_step(trace.horizon / 12)
    for i in range(int(trace.horizon / step) + 1):
        page.el("axis", "tick", i * step, None, "tick", f"{i * step:g} s", text=f"{i * step:g} s")
    _platform(page)
    for name in h.instances:
        _instance(page, name)
    for name, check in verdict.checks.items():
        for v in check.violations:
            _violation(page, name, v)
    head = escape(title or "simbot run")
    status = verdict.status
    summary = (f"horizon {trace.horizon:g} virtual seconds · trace {escape(verdict.digest)} · "
               f"verdict <b class=\"{_status_class(status)}\" id=\"status\" data-status=\"{status}\">{status}</b>"
               f" · {escape(verdict.reason)}")
    rows = [("", "axis", "axis"), ("platform", "platform", "platform")] + [(n, "", n) for n in h.instances]
    body = "".join(f'<div class="name" title="{escape(n)}">{escape(n)}</div><div class="track {c}" '
                   f'data-lane="{escape(lane)}">{"".join(page.lanes.get(lane, []))}</div>'
                   for n, c, lane in rows)  # fmt: skip
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{head}</title>'
            f"<style>{CSS}</style></head>\n<body><h1>{head}</h1>{_banner(verdict)}<p class=\"sub\">{summary}</p>\n"
            f'<main class="tl" id="timeline" data-horizon="{_num(trace.horizon)}">{body}</main>\n'
            f"{_legend()}\n{_verdict_table(verdict)}\n{_notes(verdict)}\n</body></html>\n")


class _Page:
    """Collects each lane's elements; positions are percentages of the lane's width."""

    def __init__(self, h: History):
        self.h = h
        self.lanes: dict[str, list[str]] = {}

    def el(self, lane: str, kind: str, t: float, end: float | None, cls: str, title: str,
           text: str = "", **data: object) -> None:  # fmt: skip
        horizon = self.h.horizon or 1.0
        t = min(max(t, 0.0), horizon)
        style = f"left:{t / horizon * 100:.4f}%"
        attrs = f'data-lane="{escape(lane)}" data-kind="{kind}" data-t="{_num(t)}"'
        if end is not None:
            end = min(max(end, t), horizon)
            style += f";width:{(end - t) / horizon * 100:.4f}%"
            attrs += f' data-end="{_num(end)}"'
        attrs += "".join(f' data-{k.replace("_", "-")}="{escape(str(v))}"' for k, v in data.items())
        inner = f"<span>{escape(text)}</span>" if text else ""
        element = f'<div class="{escape(cls)}" style="{style}" {attrs} title="{escape(title)}">{inner}</div>'
        self.lanes.setdefault(lane, []).append(element)


def _platform(page: _Page) -> None:
    h, rows = page.h, [-math.inf] * 3  # last marker per row: close events stack instead of overlapping
    stopped = {(e["t"], e["instance"]) for e in h.trace.of("stop")}
    for e in h.trace:
        kind = e["kind"]
        if kind == "signal" and (e["t"], e["instance"]) not in stopped:
            kind = "stop"  # a signal the platform did not announce (a stray's Ctrl-C)
        elif kind not in PLATFORM_MARKS:
            continue
        extra = ", ".join(f"{k}={v}" for k, v in sorted(e.items()) if k not in SKIP_KEYS)
        who = f" {e['instance']}" if e["instance"] else ""
        tip = f"t={_num(e['t'])} s: {e['kind']}{who}" + (f" ({extra})" if extra else "")
        row = next((i for i, last in enumerate(rows) if e["t"] - last > h.horizon / 80), 2)
        rows[row] = e["t"]
        page.el("platform", "event", e["t"], None, f"mk event r{row}", tip, PLATFORM_MARKS[kind], event=e["kind"])
    for e in h.trace.of("push"):
        page.el("platform", "push", e["t"], None, "push", f"t={_num(e['t'])} s: update {e['update_id']} pushed")
    first_get = {r["instance"]: r["t"] for r in reversed(h.requests) if r["method"] == "getUpdates" and r["instance"] in h.born}
    live, last = 0, 0.0
    for t, delta in sorted([(t, 1) for t in first_get.values()] + [(h.death(i), -1) for i in first_get]):
        if live >= 2 and t > last:
            page.el("platform", "overlap", last, t, "overlap", f"{_num(last)}–{_num(t)} s: {live} live pollers")
        live, last = live + delta, t
    for start, end in h.webhook_set():
        page.el("platform", "hook", start, end, "hook", f"{_num(start)}–{_num(end)} s: a webhook is set")
    for e in h.webhook_steps:
        if e["event"] in ("fail", "drop"):
            why = e.get("status") or e.get("error") or e["event"]
            page.el("platform", "hookfail", e["t"], None, "hookfail", f"t={_num(e['t'])} s: a webhook POST failed ({why})",
                    event=e["event"])  # fmt: skip
    serving = h.serving_intervals()  # polling, or answering webhook POSTs: deaf time is a gap too
    nobody = "nobody polls or receives webhook POSTs" if h.receiving else "nobody polls"
    covered = min((s for s, _, _ in serving), default=h.horizon)
    for s, e, _ in [*serving, (h.horizon, h.horizon, "")]:
        if s > covered:
            page.el("platform", "gap", covered, s, "gap", f"{_num(covered)}–{_num(s)} s: {nobody}")
        covered = max(covered, e)


def _instance(page: _Page, name: str) -> None:
    h = page.h
    born, died = h.born[name], h.death(name)
    mine = [r for r in h.requests if r["instance"] == name]
    first_poll = min((r["t"] for r in mine if r["method"] == "getUpdates"), default=died)
    spans = [(born, died, "waiting"), (born, first_poll, "booting")]
    starts = sorted(r["t"] for r in mine)
    for r in mine:
        if r["status"] == 409 and h.received(r):
            after = [t for t in starts if t > r["answered_at"]]
            spans.append((r["answered_at"], after[0] if after else died, "backoff"))
    stops = [e["t"] for e in h.trace if e["kind"] == "signal" and e["instance"] == name]
    if stops:
        spans.append((min(stops), died, "stopping"))
    for e in h.trace.of("pause"):
        if e["instance"] == name:
            resumed = [r["t"] for r in h.trace.of("resume") if r["instance"] == name and r["t"] >= e["t"]]
            spans.append((e["t"], min([*resumed, died]), "paused"))
    spans += [(p.start, p.end, "polling") for p in h.polls if p.instance == name]
    cuts = sorted({t for s, e, _ in spans for t in (s, e) if born <= t <= died})
    merged: list[list[Any]] = []
    for a, b in itertools.pairwise(cuts):
        phase = max((PHASES.index(p) for s, e, p in spans if s <= (a + b) / 2 < e), default=-1)
        if merged and merged[-1][2] == phase and merged[-1][1] == a:
            merged[-1][1] = b
        elif phase >= 0:
            merged.append([a, b, phase])
    for a, b, phase in merged:
        if PHASES[phase] != "polling":
            page.el(name, "phase", a, b, f"ph {PHASES[phase]}", f"{_num(a)}–{_num(b)} s: {PHASES[phase]}",
                               phase=PHASES[phase])  # fmt: skip
    for start, end, who in h.receiving:
        if who == name:
            page.el(name, "receive", start, end, "receive", f"{_num(start)}–{_num(end)} s: receives webhook POSTs "
                    "(answers 2xx)", phase="receiving")  # fmt: skip
    for p in h.polls:
        if p.instance == name:
            kicker = h.by_id[p.request["kicked_by"]] if p.request["kicked_by"] is not None else None
            how = f"; kicked by request {kicker['id']} of {kicker['instance']}" if kicker else ""
            tip = f"{_num(p.start)}–{_num(p.end)} s: request {p.request['id']} holds the poll slot{how}"
            page.el(name, "poll", p.start, p.end, "poll", tip, phase="polling", request=p.request["id"])
    for r in mine:
        answered = r["answered_at"] if r["answered_at"] is not None else r["t"]
        if r["method"] == "getUpdates" and not r["long_poll"]:
            tip = f"t={_num(r['t'])} s: probe (request {r['id']}, a getUpdates that did not wait), status {r['status']}"
            page.el(name, "probe", r["t"], answered, "probe", tip, phase="probing", request=r["id"])
        if r["status"] == 409 and h.received(r):
            tip = f"t={_num(answered)} s: 409 on request {r['id']} ({r['method']}): {r['description']}"
            page.el(name, "conflict", answered, None, "mk conflict", tip, "409", request=r["id"])
        if r["method"] == "getUpdates" and r["update_ids"]:
            how = "delivered" if h.received(r) else "undelivered"
            ids = ",".join(map(str, r["update_ids"]))
            tip = f"t={_num(answered)} s: updates {ids} {how} (request {r['id']})"
            page.el(name, "update", answered, None, f"mk update {how}", tip, "▼", how=how, updates=ids)
    if name in h.exit_codes:
        code = h.exit_codes[name]
        page.el(name, "exit", died, None, "mk exit", f"t={_num(died)} s: {name} exited with code {code}", f"X{code}",
                code=code)  # fmt: skip
    for r in h.requests:
        victim = h.by_id[r["kicked"]] if r["kicked"] is not None else None
        if victim is None or victim["instance"] == r["instance"] or name not in (r["instance"], victim["instance"]):
            continue
        tip = (f"t={_num(r['t'])} s: {r['instance']}'s {r['method']} (request {r['id']}) kicked "
               f"{victim['instance']}'s poll (request {victim['id']})")  # fmt: skip
        if name == r["instance"]:
            page.el(name, "kick", r["t"], None, "mk kick", tip, "↯", kicked=victim["instance"], request=r["id"])
        else:
            page.el(name, "kicked", r["t"], None, "mk kicked", tip, "⤓", by=r["instance"], request=r["id"])
    for e in h.trace.of("handled"):
        if e["instance"] == name:
            tip = f"t={_num(e['t'])} s: update {e['update_id']} handled"
            page.el(name, "update", e["t"], None, "mk update handled", tip, "●", how="handled",
                               updates=e["update_id"])  # fmt: skip


def _violation(page: _Page, check: str, v: Any) -> None:
    """Highlights a finding where it happened; a kick lasts until the victim gets its 409."""
    h, end = page.h, v.t
    if check == "single_poller" and len(v.evidence) == 2:
        first, second = (h.by_id[i] for i in v.evidence)
        r = first if first["kicked_by"] == second["id"] else second
        end = min(r["answered_at"] if r["answered_at"] is not None else h.horizon, h.death(r["instance"]))
    elif check == "liveness":
        end = h.horizon
    lanes = [i for i in (v.instances[-1:] if check == "duplicates" else v.instances) if i in h.born] or ["platform"]
    proof = f" (requests {', '.join(map(str, v.evidence))})" if v.evidence else ""
    for lane in dict.fromkeys(lanes):
        page.el(lane, "violation", v.t, end, f"violation {check}", f"t={_num(v.t)} s: {check} fails: {v.what}{proof}",
                check=check)  # fmt: skip


def _legend() -> str:
    items = [("booting", "booting"), ("poll", "polling (holds the slot)"), ("waiting", "waiting"),
             ("backoff", "backing off after a 409"), ("probe", "probe (getUpdates that did not wait)"),
             ("stopping", "stopping"), ("paused", "paused (frozen)"), ("violation", "checker violation"), ("overlap", "two live pollers"),
             ("gap", "nobody polls")]  # fmt: skip
    items += [("receive", "receives webhook POSTs"), ("hook", "a webhook is set")]
    swatches = "".join(f'<span><i class="{c}" style="position:static"></i>{t}</span>' for c, t in items)
    return (f'<p class="legend">{swatches}<span><b style="color:#d22">409</b> conflict received</span>'
            "<span>▼ updates delivered, ● handled</span><span>↯ kicked another instance's poll, ⤓ was kicked</span>"
            "<span>X<i>code</i> exit code</span><span>D deploy, S stop, K SIGKILL, C crash, X exit, P pause, ⇄ cutover</span></p>")


def _verdict_table(verdict: Verdict) -> str:
    rows = []
    for name, check in verdict.checks.items():
        outcome = verdict.outcome(name)
        items = "".join(f"<li>t={_num(v.t)} s: {escape(v.what)}"
                        + (f" (requests {', '.join(map(str, v.evidence))})" if v.evidence else "") + "</li>"
                        for v in check.violations[:20])  # fmt: skip
        if len(check.violations) > 20:
            items += f"<li>… and {len(check.violations) - 20} more</li>"
        rows.append(f'<tr data-check="{escape(name)}" data-outcome="{outcome}"><td>{escape(name)}</td>'
                    f'<td class="{outcome}">{outcome}</td><td>{escape(check.note)}<ul>{items}</ul></td></tr>')  # fmt: skip
    metrics = "".join(f'<tr data-metric="{escape(k)}"><td>{escape(label)}</td><td>{escape(value)}</td></tr>'
                      for k, label, value in metric_rows(verdict))  # fmt: skip
    return (f'<table id="verdict"><tr><th>checker</th><th>outcome</th><th>findings</th></tr>{"".join(rows)}</table>'
            f'<table id="metrics"><tr><th>metric</th><th>value</th></tr>{metrics}</table>')


def metric_rows(verdict: Verdict) -> list[tuple[str, str, str]]:
    """(key, label, value with its unit): what a reader needs, not the JSON."""
    m = verdict.metrics

    def seconds(x: Any) -> str:
        return "never" if x is None else f"{x:.3f} s"

    def per(d: dict[str, Any], unit: str = "") -> str:
        return ", ".join(f"{k}: {v}{unit}" for k, v in d.items()) or "none"

    u = m.get("updates", {})
    deploys = m["first_poll_after_deploy"]
    return [
        ("downtime", "downtime (nobody polls, from the first poll on)", seconds(m["downtime"])),
        ("longest_gap", "longest stretch with nobody polling", seconds(m["longest_gap"])),
        ("overlap", "two or more live pollers", seconds(m.get("overlap"))),
        ("gap", "no live poller", seconds(m.get("gap"))),
        ("conflicts", "409s received, per instance", per(m["conflicts"]) + f" (total {sum(m['conflicts'].values())})"),
        ("first_poll_after_deploy", "first poll after each deploy",
         ", ".join(f"deploy {i + 1}: {seconds(x)}" for i, x in enumerate(deploys)) or "no deploy"),
        ("exit_codes", "exit codes", per(m["exit_codes"])),
        ("updates", "updates", per({k: v for k, v in u.items() if k != "judged_by"})
         + (f" (judged by {u['judged_by']})" if "judged_by" in u else "")),
        ("reached", "reached (how often the run got somewhere interesting)", per(verdict.reached)),
    ]  # fmt: skip


def _status_class(status: str) -> str:
    return {"PASS": "pass", "FAIL": "fail", "INCONCLUSIVE": "inconclusive"}.get(status, "fail")


def _banner(verdict: Verdict) -> str:
    """A verdict that cannot be trusted says so first, in words (a red or amber band)."""
    if verdict.status == "ERROR":
        return f'<div class="banner error" id="banner">ERROR: {escape(verdict.reason)}</div>'
    if verdict.cut is not None or verdict.status == "INCONCLUSIVE":
        return f'<div class="banner inconclusive" id="banner">{verdict.status}: {escape(verdict.reason)}</div>'
    return ""


def _notes(verdict: Verdict) -> str:
    parts = []
    for key, title, items in (("crashes", "Crashes (uncaught exceptions, unasked non-zero exits)", verdict.crashes),
                              ("findings", "Findings (threads, sockets, blocking calls: what a simulation refuses or models)",
                               verdict.findings)):  # fmt: skip
        if items:
            lines = "".join(f"<li>{escape(item.line())}</li>" for item in items)
            parts.append(f'<section class="notes" id="{key}"><h2>{title}</h2><ul>{lines}</ul></section>')
    return "".join(parts)


def _num(t: float) -> str:
    return f"{t + 0.0:.6f}".rstrip("0").rstrip(".")
