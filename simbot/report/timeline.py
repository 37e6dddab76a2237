"""A plain-text timeline: one lane per instance, one column per time bucket.

    b booting (spawned, not yet polling)   = polling (holds the slot)
    w receives webhook POSTs (answers 2xx)
    . waiting                              ~ backing off after a 409
    p probing (a getUpdates that did not wait)
    s stopping (got its stop signal)       ! got a 409 in this bucket
    (blank) not running
The top lane marks platform events: D deploy, R restart, S stop signal, K SIGKILL,
C crash, X exit, P pause. After a lane, ``X0``/``X1``/``X137`` is the exit code of an
instance that ended during the run. Under the lanes, ``^`` marks the settle point (from
there liveness requires exactly one poller), then who kicked whom, then the legend: a
reader should never need this docstring.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from ..check.history import History
from ..scenario.model import WEBHOOK_EVENTS
from ..sim.trace import Trace

EVENT_MARKS = {"deploy": "D", "restart": "R", "stop": "S", "kill": "K", "crash": "C", "exit": "X", "pause": "P",
               "stray_start": "+", "stray_stop": "-",
               # webhook faults (docs/scenarios.md): edge errors, routing lag, a handler blocking, a secret rotated
               "endpoint_errors": "E", "routing_lag": "L", "slow_handler": "H", "rotate_secret": "T"}  # fmt: skip
PRIORITY = " .~bpsw=!"  # a later character wins a bucket
EVENT_PRIORITY = "X-+ELHTCPSKRD"  # platform lane: a later character wins a column (a deploy is never hidden by an exit)


LEGEND = (
    "legend: b booting (no getUpdates yet)  = polling (holds the slot)  . waiting  ~ backing off after a 409\n"
    "        p probe (a getUpdates that did not wait)  s stopping (got its stop signal)  ! got a 409\n"
    "        X<code> after a lane: its exit code   platform: D deploy  R restart  S stop signal  K SIGKILL\n"
    "        C crash  X exit  P pause  + stray start  - stray stop   ^ settled: liveness judged from there"
)

WEBHOOK_LEGEND = (
    "\n        w receives webhook POSTs (answers 2xx)   webhook lane: - set  ! a POST failed (edge error, refusal, timeout)"
)
WEBHOOK_FAULT_LEGEND = (
    "\n        webhook faults: E edge answers 5xx  L routing lag  H a handler blocks its process  T secret rotated"
)


def _webhook_lane(h: History, step: float, columns: int) -> list[str]:
    """When a webhook was set, and the buckets where a POST failed: deaf time reads as blanks and !."""
    lane = [" "] * columns
    for start, end in h.webhook_set():
        for i in range(int(start / step), min(columns - 1, int(max(start, end - 1e-9) / step)) + 1):
            lane[i] = "-"
    for e in h.webhook_steps:
        if e["event"] in ("fail", "drop"):
            lane[min(int(e["t"] / step), columns - 1)] = "!"
    return lane


def timeline(trace: Trace, width: int = 90, *, legend: bool = True, settle_bound: float = 60.0) -> str:
    """The lanes, the settle mark, the kicks and (``legend``) the legend under them."""
    h = History(trace)
    step = _nice_step(trace.horizon / width)
    columns = math.ceil(trace.horizon / step)
    name_width = max([len(n) for n in h.instances] + [8])
    events = [" "] * columns
    for e in trace:
        mark = EVENT_MARKS.get(e["kind"])
        column = min(int(e["t"] / step), columns - 1)
        if mark and EVENT_PRIORITY.index(mark) >= EVENT_PRIORITY.find(events[column]):
            events[column] = mark
    lines = [f"{'':{name_width}}  t=0 … {trace.horizon:g} s, {step:g} s per column", f"{'platform':{name_width}} |{''.join(events)}|"]
    if h.webhook_steps:
        lines.append(f"{'webhook':{name_width}} |{''.join(_webhook_lane(h, step, columns))}|")
    for name in h.instances:
        code = f"  X{h.exit_codes[name]}" if name in h.exit_codes else ""
        lines.append(f"{name:{name_width}} |{''.join(_lane(h, name, step, columns))}|{code}")
    settle = h.settled_at() + settle_bound
    if settle < trace.horizon:
        column = min(int(settle / step), columns - 1)
        lines.append(f"{'settled':{name_width}} |{' ' * column}^{' ' * (columns - column - 1)}|  at {settle:g} s "
                     f"(last platform event or fault ended at {h.settled_at():g} s, + {settle_bound:g} s)")  # fmt: skip
    kicked = kicks(h)
    if kicked:
        lines.append("kicks (a getUpdates or setWebhook that ended another instance's poll):")
        lines += [f"  {k}" for k in kicked]
    if legend:
        faulted = any(trace.of(kind) for kind in WEBHOOK_EVENTS)
        lines.append(LEGEND + (WEBHOOK_LEGEND if h.webhook_steps else "") + (WEBHOOK_FAULT_LEGEND if faulted else ""))
    return "\n".join(lines)


def kicks(h: History, limit: int = 12) -> list[str]:
    """Who kicked whom: consecutive kicks between the same two instances make one line, e.g.
    ``t=30 s  bot.v2 kicked bot.v1 (×7 until 90.5 s)`` or ``… bot.v2 and bot.v1 kicked each other …``."""
    runs: list[dict[str, Any]] = []
    for r in h.requests:
        if r["kicked"] is None or h.by_id[r["kicked"]]["instance"] == r["instance"]:
            continue
        kicker, victim = r["instance"], h.by_id[r["kicked"]]["instance"]
        ghost = not h.alive_when_kicked(h.by_id[r["kicked"]], r["t"])
        if runs and runs[-1]["pair"] == {kicker, victim}:
            run = runs[-1]
        else:
            run = {"pair": {kicker, victim}, "first": r["t"], "by": Counter(), "victim": victim, "ghosts": 0}
            runs.append(run)
        run["by"][kicker] += 1
        run["last"], run["ghosts"] = r["t"], run["ghosts"] + ghost
    out = []
    for run in runs[:limit]:
        by: Counter[str] = run["by"]
        count = sum(by.values())
        until = f" until {round(run['last'], 3):g} s" if count > 1 else ""
        if len(by) == 1:
            [kicker] = by
            who = f"{kicker} kicked {run['victim']}" + (f" (×{count}{until})" if count > 1 else "")
        else:
            each = ", ".join(f"{k} ×{n}" for k, n in by.items())
            who = f"{' and '.join(by)} kicked each other ({each}{';' if until else ''}{until})"
        ghosts = " (ghost polls: their owner had exited)" if run["ghosts"] == count else ""
        out.append(f"t={round(run['first'], 3):g} s  {who}{ghosts}")
    if len(runs) > limit:
        out.append(f"… and {len(runs) - limit} more")
    return out


def _lane(h: History, name: str, step: float, columns: int) -> list[str]:
    lane = [" "] * columns

    def paint(start: float, end: float, mark: str) -> None:
        first, last = int(start / step), min(columns - 1, int(max(start, end - 1e-9) / step))
        for i in range(max(first, 0), last + 1):
            if PRIORITY.index(mark) >= PRIORITY.index(lane[i]):
                lane[i] = mark

    born, died = h.born[name], h.death(name)
    mine = [r for r in h.requests if r["instance"] == name]
    got = [r["t"] for r in mine if r["method"] == "getUpdates"] + [s for s, _, who in h.receiving if who == name]
    first_poll = min(got, default=died)
    paint(born, died, ".")
    paint(born, first_poll, "b")
    for r in mine:
        if r["method"] == "getUpdates" and not r["long_poll"]:
            paint(r["t"], r["t"], "p")
    starts = sorted(r["t"] for r in mine)
    for r in mine:
        if r["status"] == 409 and h.received(r):
            after = [t for t in starts if t > r["answered_at"]]
            paint(r["answered_at"], after[0] if after else died, "~")
    for p in h.polls:
        if p.instance == name:
            paint(p.start, p.end, "=")
    for start, end, who in h.receiving:
        if who == name:
            paint(start, end, "w")
    stops = [e["t"] for e in h.trace if e["kind"] == "signal" and e["instance"] == name]
    if stops:
        paint(min(stops), died, "s")
    for r in mine:
        if r["status"] == 409 and h.received(r):
            paint(r["answered_at"], r["answered_at"], "!")
    return lane


def _nice_step(raw: float) -> float:
    for step in (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if step >= raw:
            return float(step)
    return float(math.ceil(raw / 3600) * 3600)
