"""bench/ stays runnable and compares like with like (nothing here is timed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench import bare
from simbot.demo import render_worker_deploy

ROOT = Path(__file__).resolve().parent.parent


def test_the_bare_loop_runs_the_reference_workload_the_harness_runs():
    """The harness ÷ bare ratio means something only if both do the same requests, fights and updates."""
    floor = bare.run()
    trace = render_worker_deploy(0)
    requests = trace.of("request")
    assert floor.virtual_seconds == 180.0
    assert floor.requests == len(requests) == 41
    assert floor.conflicts == sum(r["status"] == 409 for r in requests) == 16
    assert len(floor.handled) == len(trace.of("handled")) == 18
    assert len(set(floor.handled)) == len(floor.handled)
    with_simbots_fake = bare.run(fake="simbot")
    assert (with_simbots_fake.requests, with_simbots_fake.conflicts, len(with_simbots_fake.handled)) == (41, 16, 18)


def test_the_minimal_fake_keeps_the_rules_the_workload_depends_on():
    """Without the 3 s conflict hold, the bare fight would have a different shape (and a flattering ratio)."""
    real_hold = bare.HOLD
    try:
        bare.HOLD = 0.0
        unthrottled = bare.run()
    finally:
        bare.HOLD = real_hold
    assert unthrottled.requests != 41 or unthrottled.conflicts != 16


def test_the_benchmark_runs_end_to_end_in_quick_mode():
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--cases", "reference,bare,bare_simbot_fake,scale"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("machine: ")
    assert any(line.startswith("1. reference scenario: ") and "41 requests, 16 409s" in line for line in lines)
    assert any("harness ÷ bare loop = " in line for line in lines)
    assert any("the same with simbot's fake instead of the minimal one" in line for line in lines)
    assert any(line.startswith("5. 10 instances × 60 virtual s") for line in lines)


def test_unknown_cases_are_named_with_the_choices():
    done = subprocess.run([sys.executable, "-m", "bench", "--cases", "reference,warp"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "--cases: unknown warp" in done.stderr and "reference, bare, bare_simbot_fake, looptime" in done.stderr
