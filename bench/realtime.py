"""The two-instance fight in real time over loopback, and the same timeline simulated.

Why: the simulator's speed-up is only honest next to a real run of the same thing.
This runs ``fake-telegram serve`` and two real python-telegram-bot 22 processes
(``bench/realtime_bot.py``, ``simbot.startup.Naive``: PTB's run_polling defaults,
getUpdates timeout 10, 409s retried with PTB's 1 s ×1.5 backoff) against it in real
time, then the same timeline in the simulator, and counts the same things in both:
requests, getUpdates and 409 answers per instance, updates pushed and handled.

The timeline is ``simbot.demo``'s Render worker deploy, compressed to fit a
benchmark: v1 starts at 0 s; the deploy at 3 s starts v2 (Render sees it ready at
3.5 s); the hold ends at 15 s with SIGTERM to v1 (simulated as readiness 0.5 s plus a
hold of 11.5 s); an update every 3 s from 2.5 s; the run ends at ``duration`` (24 s).
Only the platform's times shrink: PTB's backoff, the 10 s long poll and Telegram's 3 s
conflict throttle keep their real values, so 12 s of overlap still show the ping-pong
(about 7 answers of 409, alternating) and the old instance's exit with a fetched but
unhandled update. Updates land on half seconds, at least 0.5 s from any step of the
fight, so real-time jitter of a few milliseconds cannot reorder a push and a retry.

Bot processes import and build their Application before the clock starts and begin
on ``go``: the simulator's instances start in zero virtual time, and a cold Python
start (~1 s) is not part of the fight. The simulation is timed with
``time.perf_counter`` from this module, outside the run; modules named ``bench…``
are also on the freezegun ignore list (``simbot.sim.wallclock.IGNORED``), so even a
call from here inside a run would read the real clock.

Run: ``.venv/bin/python -m bench.realtime [duration]``; prints the figures as JSON.
"""

from __future__ import annotations

import json
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import httpx

from fake_telegram import message_update
from simbot.scenario import Bot, Event, Scenario, Updates, simulate

from .realtime_bot import TOKEN

DEPLOY = 3.0  # v2 starts
STOP = 15.0  # SIGTERM to v1: the hold ends
READINESS = 0.5  # render_worker's readiness delay; the hold is the rest of STOP - DEPLOY
UPDATE_START, UPDATE_EVERY = 2.5, 3.0
NAMES = ("bot.v1", "bot.v2")  # the simulator's instance names
STARTUP_TIMEOUT = 30.0  # server listening, bots imported and built
EXIT_TIMEOUT = 10.0  # after SIGTERM, before SIGKILL
SIM_RUNS = 5
ROOT = Path(__file__).resolve().parent.parent

# caller, method, status, sent at, answered at, updates delivered
Request = tuple[str, str, int | None, float, float | None, int]


def measure(duration: float = 24.0) -> dict[str, object]:
    """The real run, then the simulated one; figures side by side."""
    if duration <= STOP:
        raise ValueError(f"duration must be longer than {STOP} s, the end of the hold")
    real_seconds, real = run_real(duration)
    sim_seconds, sim = run_simulated(duration)
    same = all(real["real_" + k] == sim["sim_" + k]
               for k in ("requests", "getUpdates", "409", "by_instance", "pushed", "delivered", "handled"))  # fmt: skip
    speedup = round(real_seconds / sim_seconds)
    return {**real, **sim, "counts_agree": same, "speedup": speedup, "timeline": timeline(duration)}


def timeline(duration: float) -> str:
    return (
        f"v1 at 0 s; deploy at {DEPLOY:g} s starts v2 (ready {DEPLOY + READINESS:g} s); "
        f"SIGTERM v1 at {STOP:g} s; an update every {UPDATE_EVERY:g} s from {UPDATE_START:g} s; "
        f"end at {duration:g} s"
    )


def push_times(duration: float) -> list[float]:
    """As ``simbot.scenario.run.simulate`` computes them."""
    times, t = [], UPDATE_START
    while t < duration:
        times.append(round(t, 6))
        t += UPDATE_EVERY
    return times


# -- the simulated run -------------------------------------------------------------------


def scenario(duration: float) -> Scenario:
    return Scenario(
        seed=0, horizon=duration, platform="render_worker",
        platform_overrides={"readiness_delay": READINESS, "hold_after_ready": STOP - DEPLOY - READINESS},
        bot=Bot(policy="naive"), events=(Event(0.0, "start"), Event(DEPLOY, "deploy")),
        updates=Updates(every=UPDATE_EVERY, start=UPDATE_START),
    )  # fmt: skip


def run_simulated(duration: float) -> tuple[float, dict[str, object]]:
    """Median seconds and figures: one warm-up run (imports, first Application), then ``SIM_RUNS`` timed."""
    s = scenario(duration)
    trace = simulate(s)
    times = []
    for _ in range(SIM_RUNS):
        start = time.perf_counter()
        simulate(s)
        times.append(time.perf_counter() - start)
    requests = [_request(r, "instance", "t") for r in trace.of("request")]
    handled = [r["update_id"] for r in trace.of("handled")]
    median = statistics.median(times)
    return median, {
        "sim_ms": round(median * 1000, 1),
        "sim_ms_runs": [round(t * 1000, 1) for t in times],
        **counts("sim", requests, pushed=len(trace.of("push")), handled=handled),
    }


# -- the real run ------------------------------------------------------------------------


def run_real(duration: float) -> tuple[float, dict[str, object]]:
    """Seconds and figures. Server and bots are child processes; none of them outlives this call."""
    cpu_before = _children_cpu()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="simbot-realtime-") as tmp, ExitStack() as cleanup:
        work = Path(tmp)
        port = _free_port()
        serve = ["-m", "fake_telegram.cli", "serve", "--port", str(port)]
        server = _spawn(serve, work / "server.log", cleanup)
        control = cleanup.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}/_fake/bot{TOKEN}"))
        _wait_serving(control, server, work / "server.log")
        bots = {}
        for name in NAMES:
            report = work / f"{name}.json"
            argv = ["-m", "bench.realtime_bot", "--port", str(port), "--name", name, "--report", str(report)]
            bots[name] = _spawn(argv, work / f"{name}.log", cleanup, stdin=True)
        for name, bot in bots.items():
            _wait_ready(bot, work / f"{name}.log")
        pushed: list[int] = []

        def push() -> None:
            reply = control.post("/updates", json=message_update("hello", date=int(time.time())), timeout=5)
            pushed.extend(i for i in reply.raise_for_status().json()["result"] if i is not None)

        plan: list[tuple[float, Callable[[], object]]] = [
            (0.0, lambda: _go(bots["bot.v1"])),
            (DEPLOY, lambda: _go(bots["bot.v2"])),
            (STOP, lambda: bots["bot.v1"].send_signal(signal.SIGTERM)),
            *((t, push) for t in push_times(duration)),
            (duration, lambda: None),
        ]
        plan.sort(key=lambda step: step[0])
        t0 = time.monotonic()
        late = 0.0
        for at, action in plan:
            time.sleep(max(0.0, t0 + at - time.monotonic()))
            late = max(late, time.monotonic() - t0 - at)
            action()
        log = control.get("/log", timeout=5).raise_for_status().json()["result"]
        real_seconds = time.monotonic() - t0
        codes = _stop_all([*bots.values(), server])
        reports = {name: _read_json(work / f"{name}.json") for name in NAMES}
        problems = [f"{name} exited with {code}: {_tail(work / f'{name}.log')}"
                    for name, code in zip(NAMES, codes, strict=False) if code != 0]  # fmt: skip
    requests = [_request(e, "caller", "at") for e in log]  # the server's clock is monotonic, as t0 is
    handled = [i for r in reports.values() if r for i in r["handled"]]
    return real_seconds, {
        "real_seconds": round(real_seconds, 2),
        "real_total_seconds": round(time.monotonic() - began, 2),
        "real_max_lateness_ms": round(late * 1000, 1),
        "real_cpu_bots_run": round(sum(r["run_cpu"] for r in reports.values() if r), 2),
        "real_cpu_children_total": round(_children_cpu() - cpu_before, 2),
        **counts("real", requests, origin=t0, pushed=len(pushed), handled=handled),
        **({"real_problems": problems} if problems else {}),
    }


def counts(
    prefix: str, requests: Iterable[Request], *, origin: float = 0.0, pushed: int, handled: list[int]
) -> dict[str, object]:
    """The same figures from either side; ``fight`` lists each 409 as [sent at, instance, answered at]."""
    per: dict[str, Counter[str]] = {}
    fight: list[list[object]] = []
    for caller, method, status, at, answered, updates in requests:
        c = per.setdefault(caller, Counter())
        c["requests"] += 1
        c["getUpdates"] += method == "getUpdates"
        c["409"] += status == 409
        c["delivered"] += updates
        if status == 409:
            fight.append([round(at - origin, 2), caller, _since(answered, origin)])
    total = sum(per.values(), Counter())
    return {
        f"{prefix}_requests": total["requests"],
        f"{prefix}_getUpdates": total["getUpdates"],
        f"{prefix}_409": total["409"],
        f"{prefix}_by_instance": {k: dict(v) for k, v in sorted(per.items())},
        f"{prefix}_pushed": pushed,
        f"{prefix}_delivered": total["delivered"],
        f"{prefix}_handled": len(handled),
        f"{prefix}_handled_unique": len(set(handled)),
        f"{prefix}_fight": fight,
    }


def _spawn(args: list[str], log: Path, cleanup: ExitStack, *, stdin: bool = False) -> subprocess.Popen[str]:
    """A child of this Python in the repository root; its output to ``log``; stopped on the way out."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE if stdin else out, stderr=out,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, text=True,
        )  # fmt: skip
    cleanup.callback(_stop_all, [proc])
    return proc


def _stop_all(procs: list[subprocess.Popen[str]]) -> list[int | None]:
    """SIGTERM to every one still running, SIGKILL to any that outlasts ``EXIT_TIMEOUT``; exit codes."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(EXIT_TIMEOUT)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None and not pipe.closed:
                with suppress(BrokenPipeError):
                    pipe.close()
    return [proc.returncode for proc in procs]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_serving(control: httpx.Client, server: subprocess.Popen[str], log: Path) -> None:
    """Until the fake answers its control API: an open port alone could be someone else's."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"fake-telegram serve exited {server.returncode}: {_tail(log)}")
        try:
            if control.get("/log", timeout=1).json().get("ok"):
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"fake-telegram serve: no answer at {control.base_url} in {STARTUP_TIMEOUT:g} s")


def _wait_ready(bot: subprocess.Popen[str], log: Path) -> None:
    assert bot.stdout is not None
    readable, _, _ = select.select([bot.stdout], [], [], STARTUP_TIMEOUT)
    line = bot.stdout.readline() if readable else ""
    if line.strip() != "ready":
        raise RuntimeError(f"bot process not ready within {STARTUP_TIMEOUT:g} s ({line!r}): {_tail(log)}")


def _go(bot: subprocess.Popen[str]) -> None:
    assert bot.stdin is not None
    bot.stdin.write("go\n")
    bot.stdin.flush()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _tail(log: Path, lines: int = 8) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _request(entry: dict[str, Any], caller: str, at: str) -> Request:
    """A log entry (``fake_telegram`` JSON) or a trace record, named by its own keys."""
    updates = len(entry["update_ids"])
    return entry[caller], entry["method"], entry["status"], entry[at], entry["answered_at"], updates


def _since(value: float | None, origin: float) -> float | None:
    return None if value is None else round(value - origin, 2)


if __name__ == "__main__":
    figures = measure(*(float(a) for a in sys.argv[1:2]))
    print("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in figures.items()) + "\n}")
