"""What the bot itself printed: its ``print`` and logging lines, per simulated process.

A user reads these beside the verdict ("another instance holds the lock; exiting 0"), so
``simbot check`` and ``simbot replay`` show them; they come from the trace, so they are as
deterministic as the run.
"""

from __future__ import annotations

from ..sim.trace import Trace


def bot_output(trace: Trace) -> list[str]:
    """One line per captured line, ``  12.000 bot.v1 | text`` (``!`` marks stderr), then what was dropped."""
    lines = []
    for r in trace:
        if r["kind"] == "output":
            mark = "!" if r.get("stream") == "stderr" else "|"
            lines.extend(f"  {r['t']:9.3f} {r['instance']} {mark} {line}" for line in r["text"].split("\n"))
        elif r["kind"] == "output_dropped":
            lines.append(f"  {r['t']:9.3f} {r['instance']}: {r['lines']} more line(s) not kept")
    return lines
