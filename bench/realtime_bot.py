"""One bot process of the real-time run (``bench.realtime``): PTB 22 under ``simbot.startup.Naive``.

It imports and builds everything first, prints ``ready`` and waits for ``go`` on stdin, so
the timeline starts polling at the moment the harness says, not after a Python start-up
of unknown length (the simulator's instances start in zero virtual time too). Then it runs
exactly what production would: ``asyncio.run(simbot.startup.run(app, policy("naive")))``,
which exits 0 on SIGTERM. Every request carries ``X-Fake-Caller: <name>`` so the fake's log
names the instance as the simulator's trace does. At exit it writes the update ids it
handled and its CPU seconds (before and after ``go``) to ``--report`` as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, TypeHandler
from telegram.request import HTTPXRequest

from simbot.startup import policy, run

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # the simulator's default token


def build(base_url: str, name: str, handled: list[int]) -> Application:  # type: ignore[type-arg]
    """A default Application (PTB's own pool sizes and timeouts) whose requests name the caller."""
    headers = {"X-Fake-Caller": name}
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(base_url)
        .request(HTTPXRequest(connection_pool_size=256, httpx_kwargs={"headers": headers}))
        .get_updates_request(HTTPXRequest(connection_pool_size=1, httpx_kwargs={"headers": headers}))
        .build()
    )

    async def note(update: Update, context: object) -> None:
        handled.append(update.update_id)

    app.add_handler(TypeHandler(Update, note), group=-1000)  # as simbot.drivers.ptb.build does
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    handled: list[int] = []
    app = build(f"http://127.0.0.1:{args.port}/bot", args.name, handled)
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 2  # the harness went away before the start
    setup_cpu = time.process_time()
    code = 0
    try:
        asyncio.run(run(app, policy("naive")))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        report = {"handled": handled, "setup_cpu": setup_cpu, "run_cpu": time.process_time() - setup_cpu}
        args.report.write_text(json.dumps(report))
    return code


if __name__ == "__main__":
    sys.exit(main())
