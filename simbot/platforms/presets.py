"""Platform presets with their documented defaults (docs/platforms.md §5).

Where §5 says "unknown" or "?" the value here is an assumption, marked ``(I)`` in
``source`` and in docs/platforms.md; override it when you know better.
"""

from __future__ import annotations

from .model import Backoff, Platform

HEROKU_BACKOFF = Backoff(schedule=(0.0, 1200.0, 2400.0, 3600.0, 10800.0, 19200.0))
K8S_BACKOFF = Backoff(initial=10.0, factor=2.0, max=300.0, reset_after_up=600.0)
DOCKER_BACKOFF = Backoff(initial=0.1, factor=2.0, reset_after_up=10.0)
UNKNOWN_BACKOFF = Backoff(initial=1.0, factor=2.0, max=300.0, reset_after_up=600.0)  # (I)

PRESETS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform("render_web", "start_first", readiness_delay=2.0, hold_after_ready=60.0, grace=30.0,
                 grace_bounds=(1.0, 300.0), backoff=UNKNOWN_BACKOFF,
                 source="D/I: port_bound readiness ~2 s (I); hold 60 s; exit 0 restarts (I); backoff unknown (I)"),
        Platform("render_worker", "start_first", readiness_delay=0.5, hold_after_ready=60.0, grace=30.0,
                 grace_bounds=(1.0, 300.0), backoff=UNKNOWN_BACKOFF,
                 source="D/I: process_start readiness; hold 60 s uncertain for workers; backoff unknown (I)"),
        Platform("heroku_restart", "simultaneous", readiness_delay=0.0, grace=30.0, grace_bounds=(30.0, 30.0),
                 backoff=HEROKU_BACKOFF,
                 source="D: SIGTERM and new start at the same instant; grace fixed 30 s; restart any exit"),
        Platform("heroku_web_preboot", "start_first", readiness_delay=2.0, hold_after_ready=210.0, grace=30.0,
                 grace_bounds=(30.0, 30.0), backoff=HEROKU_BACKOFF,
                 source="D/R: preboot hold ~180-240 s (210 taken)"),
        Platform("railway_2025", "start_first", readiness_delay=0.5, hold_after_ready=0.0, grace=0.0,
                 on_exit_zero="stop", max_restarts=10, backoff=UNKNOWN_BACKOFF,
                 source="D: overlapSeconds 0, drainingSeconds 0; exit 0 Completed; On Failure <= 10"),
        Platform("railway_legacy", "start_first", readiness_delay=0.5, hold_after_ready=20.0, grace=3.0,
                 on_exit_zero="stop", max_restarts=10, backoff=UNKNOWN_BACKOFF,
                 source="D/R: before 2025-06, overlap 20 s, draining 3 s"),
        Platform("fly_rolling_1", "stop_first", readiness_delay=10.0, stop_signal="SIGINT", grace=5.0,
                 on_exit_zero="stop", max_restarts=10, restart_window=300.0, backoff=UNKNOWN_BACKOFF,
                 source="D: stop-first single Machine, SIGINT, kill_timeout 5 s, on-fail <= 10 in 300 s"),
        Platform("fly_launch_default", "stop_first", replicas=2, readiness_delay=10.0, stop_signal="SIGINT",
                 grace=5.0, on_exit_zero="stop", max_restarts=10, restart_window=300.0,
                 backoff=UNKNOWN_BACKOFF, source="D: fly launch creates 2 Machines, rolled one at a time"),
        Platform("k8s_rolling_1", "start_first", readiness_delay=0.5, grace=30.0, backoff=K8S_BACKOFF,
                 source="D: maxSurge 1, no readinessProbe, terminationGracePeriodSeconds 30, Always"),
        Platform("k8s_recreate", "stop_first", readiness_delay=0.5, grace=30.0, backoff=K8S_BACKOFF,
                 source="D: Recreate strategy"),
        Platform("compose_recreate", "stop_first", readiness_delay=0.0, grace=10.0, on_exit_zero="stop",
                 on_exit_nonzero="stop", backoff=DOCKER_BACKOFF, hosts="per_replica",
                 source="D/S: stop_grace_period 10 s, restart policy 'no'"),
        Platform("docker_always", "stop_first", readiness_delay=0.0, grace=10.0, backoff=DOCKER_BACKOFF,
                 hosts="per_replica",
                 source="D: restart always, 100 ms doubling, reset after 10 s up"),
        Platform("systemd_default", "stop_first", readiness_delay=0.0, grace=90.0, on_exit_zero="stop",
                 on_exit_nonzero="stop", hosts="shared", source="D: TimeoutStopSec 90, Restart=no"),
        Platform("ecs_default", "start_first", readiness_delay=0.5, min_ready=40.0, grace=30.0,
                 grace_bounds=(0.0, 120.0), backoff=Backoff(initial=10.0),
                 source="D: 100/200, no health check: healthy 40 s after RUNNING; tasks replaced unthrottled after RUNNING; I: a replacement task takes ~10 s to launch"),
        Platform("local_dev_stray", "simultaneous", readiness_delay=0.0, stop_signal="SIGINT", grace=0.0,
                 on_exit_zero="stop", on_exit_nonzero="stop", hosts="shared",
                 source="R/I: a developer's run of the bot: Ctrl-C to stop, nobody restarts it"),
    )
}


def preset(name: str) -> Platform:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown platform preset {name!r}; expected one of: {', '.join(sorted(PRESETS))}") from None
