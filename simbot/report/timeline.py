"""A plain-text timeline: one lane per instance, one column per time bucket.

    b booting (spawned, not yet polling)   = polling (holds the slot)
    . waiting                              ~ backing off after a 409
    p probing (a getUpdates that did not wait)
    s stopping (got its stop signal)       ! got a 409 in this bucket
    (blank) not running
The top lane marks platform events: D deploy, R restart, S stop signal, K SIGKILL,
C crash, X exit, P pause.
"""

from __future__ import annotations

import math

from ..check.history import History
from ..sim.trace import Trace

EVENT_MARKS = {"deploy": "D", "restart": "R", "stop": "S", "kill": "K", "crash": "C", "exit": "X", "pause": "P",
               "stray_start": "+", "stray_stop": "-"}  # fmt: skip
PRIORITY = " .~bps=!"  # a later character wins a bucket


def timeline(trace: Trace, width: int = 90) -> str:
    h = History(trace)
    step = _nice_step(trace.horizon / width)
    columns = math.ceil(trace.horizon / step)
    name_width = max([len(n) for n in h.instances] + [8])
    events = [" "] * columns
    for e in trace:
        mark = EVENT_MARKS.get(e["kind"])
        if mark:
            events[min(int(e["t"] / step), columns - 1)] = mark
    lines = [f"{'':{name_width}}  t=0 … {trace.horizon:g} s, {step:g} s per column", f"{'platform':{name_width}} |{''.join(events)}|"]
    for name in h.instances:
        lines.append(f"{name:{name_width}} |{''.join(_lane(h, name, step, columns))}|")
    return "\n".join(lines)


def _lane(h: History, name: str, step: float, columns: int) -> list[str]:
    lane = [" "] * columns

    def paint(start: float, end: float, mark: str) -> None:
        first, last = int(start / step), min(columns - 1, int(max(start, end - 1e-9) / step))
        for i in range(max(first, 0), last + 1):
            if PRIORITY.index(mark) >= PRIORITY.index(lane[i]):
                lane[i] = mark

    born, died = h.born[name], h.death(name)
    mine = [r for r in h.requests if r["instance"] == name]
    first_poll = min((r["t"] for r in mine if r["method"] == "getUpdates"), default=died)
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
