"""``python -m bench``: every measurement of issue 6, each in its own process on one core.

Prints a report with the targets next to the figures (the README quotes it). Options:
``--cases a,b`` (default all: reference, bare, bare_simbot_fake, looptime, explore, scale, cluster (not pinned),
realtime; the optional ``soak`` runs only when named: 100k requests to ``fake-telegram serve``),
``--cpu N`` (the core to pin to, default 0), ``--quick`` (tiny sizes: checks that the
benchmark runs, not how fast), ``--json FILE`` (the raw figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from importlib.metadata import version
from typing import Any

from .cases import BENCH_DEPS, CASES, HORIZON, ROOT

LOOPTIME = "looptime==0.9"
PAIRED = ("reference", "bare", "bare_simbot_fake", "looptime")  # compared with each other: measured in alternating rounds
ROUNDS = 5
OPTIONAL = {"soak": "bench.soak"}  # run only when named in --cases: minutes, not seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from: {', '.join(CASES)}")
    parser.add_argument("--cpu", type=int, default=0, help="the core every case is pinned to (default 0)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: does it run, not how fast")
    parser.add_argument("--json", metavar="FILE", help="also write the raw figures here")
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES and c not in OPTIONAL]
    if unknown:
        parser.error(f"--cases: unknown {', '.join(unknown)}; expected some of: {', '.join([*CASES, *OPTIONAL])}")
    if not 0 <= args.cpu < (os.cpu_count() or 1):
        parser.error(f"--cpu: expected a core between 0 and {(os.cpu_count() or 1) - 1}, got {args.cpu}")
    if "looptime" in cases:
        _ensure_looptime()
    results: dict[str, Any] = {"machine": machine()}
    paired = [c for c in cases if c in PAIRED]
    rounds = 1 if args.quick else ROUNDS
    for round_ in range(rounds):  # the loop comparisons alternate, so a change in machine load hits all alike
        for case in paired:
            print(f"bench: {case} (round {round_ + 1} of {rounds}) …", file=sys.stderr, flush=True)
            results.setdefault(case, []).append(run_case(case, cpu=args.cpu, quick=args.quick))
    for case in paired:
        results[case] = combine(results[case])
    if "reference" in results and "bare" in results:
        ratios = [r / b for r, b in zip(results["reference"]["rounds"], results["bare"]["rounds"], strict=True)]
        results["ratio"] = {"median": statistics.median(ratios), "all": ratios}
    for case in cases:
        if case not in PAIRED:
            print(f"bench: {case} …", file=sys.stderr, flush=True)
            results[case] = run_case(case, cpu=args.cpu, quick=args.quick)
    print(report(results))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=2)
    return 0


def run_case(case: str, *, cpu: int, quick: bool) -> dict[str, Any]:
    module = OPTIONAL.get(case)
    if module:
        command = [sys.executable, "-m", module, "--json-line", *(["--quick"] if quick else [])]
    else:
        command = [sys.executable, "-m", "bench.cases", case, *(["--quick"] if quick else [])]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "BENCH_CPU": str(cpu)},
                          timeout=1800)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"bench: case {case} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure per round (each a median of batches); the case's figure is their median."""
    merged = dict(rounds[0])
    for key in ("default", "noop_cycles_0"):  # looptime's two settings
        if key in merged:
            merged[key] = combine([r[key] for r in rounds])
    if "ms" in merged:
        per_round = [r["ms"] for r in rounds]
        merged |= {"ms": statistics.median(per_round), "rounds": per_round,
                   "ms_min": min(r["ms_min"] for r in rounds), "ms_max": max(r["ms_max"] for r in rounds),
                   "runs": sum(r["runs"] for r in rounds)}  # fmt: skip
    return merged


def machine() -> dict[str, Any]:
    model = "?"
    try:
        with open("/proc/cpuinfo") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "?")
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "python-telegram-bot": version("python-telegram-bot"), "httpx": version("httpx")}  # fmt: skip


def report(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores']} cores, one core per case; Python {m['python']}, "
             f"python-telegram-bot {m['python-telegram-bot']}, httpx {m['httpx']}", ""]  # fmt: skip
    ref, floor = r.get("reference"), r.get("bare")
    if ref:
        lines.append(f"1. reference scenario: {1000 / ref['ms']:.0f} scenarios/s ({ref['ms']:.1f} ms each, "
                     f"{ref['ms_min']:.1f}–{ref['ms_max']:.1f} over batches), {HORIZON / ref['ms'] * 1000:,.0f}× real time; "
                     f"{ref['requests']} requests, {ref['conflicts']} 409s, {ref['handled']} updates handled "
                     f"[target ≥ 300/s: {_met(1000 / ref['ms'] >= 300)}]")  # fmt: skip
    if floor:
        lines.append(f"2. bare loop (same bots, in-memory transport, minimal fake): {1000 / floor['ms']:.0f} scenarios/s "
                     f"({floor['ms']:.1f} ms; {floor['requests']} requests, {floor['conflicts']} 409s, "
                     f"{floor['handled']} handled)")  # fmt: skip
        if ref:
            ratio = r["ratio"]["median"]
            spread = f" (rounds {min(r['ratio']['all']):.2f}–{max(r['ratio']['all']):.2f})" if len(r["ratio"]["all"]) > 1 else ""
            lines.append(f"   harness ÷ bare loop = {ratio:.2f}{spread} [target ≤ 1.3: {_met(ratio <= 1.3)}]")
    if "bare_simbot_fake" in r and floor:
        sf = r["bare_simbot_fake"]
        lines.append(f"   the same with simbot's fake instead of the minimal one: {sf['ms']:.1f} ms: the fake's rules "
                     f"and request log cost {sf['ms'] - floor['ms']:.1f} ms a run"
                     + (f"; the rest of the harness {ref['ms'] - sf['ms']:.1f} ms (harness ÷ this = "
                        f"{ref['ms'] / sf['ms']:.2f})" if ref else ""))  # fmt: skip
    if "looptime" in r:
        lt = r["looptime"]
        for label in ("default", "noop_cycles_0"):
            ms = lt[label]["ms"]
            versus = f", ÷ bare loop {ms / floor['ms']:.2f}" if floor else ""
            versus += f", ÷ full harness {ms / ref['ms']:.2f}" if ref else ""
            lines.append(f"3. looptime {lt['version']} ({label.replace('_', ' = ', 1) if label != 'default' else 'defaults'}), "
                         f"bare workload: {ms:.1f} ms{versus}")  # fmt: skip
    if "explore" in r:
        e = r["explore"]
        lines.append(f"4. cold `simbot explore --policy delay-probe-backoff --platform render_worker` to a written "
                     f"counterexample: {e['seconds']:.2f} s (median of {len(e['seconds_all'])}; "
                     f"{e['counterexample']}) [target ≤ 10 s: {_met(e['seconds'] <= 10)}]")  # fmt: skip
    if "scale" in r:
        s = r["scale"]
        lines.append(f"5. {s['replicas']} instances × {s['horizon']:.0f} virtual s: {s['ms'] / 1000:.2f} s judged "
                     f"({s['requests']} requests, {s['conflicts']} 409s), peak traced memory {s['peak_mib']:.0f} MiB "
                     f"[target ≤ 2 s: {_met(s['ms'] <= 2000)}]")  # fmt: skip
    if "realtime" in r:
        t = r["realtime"]
        same = t["counts_agree"]  # requests, getUpdates, 409s per instance; updates pushed, delivered, handled
        lines.append(f"6. real time over loopback: {t['real_seconds']:.1f} s for {t['real_requests']} requests and "
                     f"{t['real_409']} 409s; simulated {t['sim_ms']:.1f} ms for {t['sim_requests']} and {t['sim_409']} "
                     f"({'same counts' if same else 'counts differ'}): {t['speedup']:,.0f}× faster")  # fmt: skip
    if "program" in r:
        p = r["program"]
        lines.append(f"8. the reference bot as a script (main() calls run_polling()): {p['ms']['script']:.1f} ms a run vs "
                     f"{p['ms']['contract']:.1f} ms through the async contract, ratio {p['ratio']:.2f} "
                     f"[target ≤ 1.3: {_met(p['ratio'] <= 1.3)}]; with the bot's logging off {p['ms']['quiet']:.1f} ms "
                     f"({p['ratio_quiet']:.2f}); {p['requests']} requests, {p['conflicts']} 409s, "
                     f"{'the same requests as' if p['same_requests'] else 'OTHER requests than'} the contract, "
                     f"{p['output_lines']} lines printed")  # fmt: skip
    if "schedule" in r:
        sc = r["schedule"]
        lines.append("9. schedules on the reference deploy, ÷ FIFO: " + ", ".join(
            f"{name} {sc['ratio'][name]:.3f}" for name in ("counted", "random", "pct"))
            + f" [target ≤ 1.05: {_met(max(sc['ratio'][n] for n in ('counted', 'random')) <= 1.05)} for counted/random]")  # fmt: skip
    if "race" in r:
        ra = r["race"]
        lines.append(f"10. runs to find tests/sim/race.py's race ({ra['searches']} searches of ≤ 100 runs): simbot "
                     + _searches(ra, ("random", "pct")))
        pe = ra["peers"]
        if "skipped" in pe:
            lines.append(f"    simloom and simloop: not measured ({pe['skipped']})")
        else:
            lines.append(f"    simloom {pe['simloom']} " + _searches(pe, ("simloom_random", "simloom_pct", "simloom_pct_auto"))
                         + f"; simloop {pe['simloop']} " + _searches(pe, ("simloop_random", "simloop_pct"))
                         + f" (Python {pe['python']})")
            mine, theirs = ra["pct"]["median_runs"], pe["simloom_pct_auto"]["median_runs"]
            lines.append(f"    simbot pct ≤ simloom PCT (its measured horizon, pct:auto)? median {mine} vs {theirs} "
                         f"[target: {_met(mine is not None and (theirs is None or mine <= theirs))}]")  # fmt: skip
    if "cluster" in r:
        c = r["cluster"]
        lines.append(f"11. explore on a Dask LocalCluster ({c['cores']} cores, load {c['load']:.1f} at the start): "
                     f"{c['per_second']['1']:.1f} examples/s with 1 worker, {c['per_second']['2']:.1f} with 2: "
                     f"{c['speedup']:.2f}× [target ≥ 1.8: {_met(c['speedup'] >= 1.8)}]")  # fmt: skip
    if "soak" in r:
        from .soak import report as soak_report

        lines.append("7. " + soak_report(r["soak"]))
    return "\n".join(lines)


def _searches(figures: dict[str, Any], names: tuple[str, ...]) -> str:
    def one(name: str) -> str:
        f = figures[name]
        label = name.split("_", 1)[1] if "_" in name else name
        if not f["found"]:
            return f"{label} found in none"
        return f"{label} median {f['median_runs']}, mean {f['mean_runs']:.2f}, max {f['max_runs']} ({f['found']} found)"

    return ", ".join(one(n) for n in names)


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _ensure_looptime() -> None:
    """looptime lives in .bench-deps, not the venv: its pytest plugin would hook every test of the suite."""
    if (BENCH_DEPS / "looptime").is_dir():
        return
    print(f"bench: installing {LOOPTIME} into {BENCH_DEPS.name}/ …", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--target", str(BENCH_DEPS), LOOPTIME], check=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
