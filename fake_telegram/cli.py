"""``fake-telegram serve``: the fake over real HTTP on loopback."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from .core import FakeTelegram
from .transports.asgi import asgi_app
from .transports.timeouts import BODY_TIMEOUT, HEADER_TIMEOUT, timed_protocol
from .transports.webhook_http import HttpDeliver

SHUTDOWN_GRACE = 1  # seconds uvicorn waits for open requests (long polls) on shutdown
LOG_ENTRIES = 10_000  # a long-running server keeps the newest requests, not every one for ever


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fake-telegram", description="A fake Telegram Bot API server.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the Bot API at http://HOST:PORT/bot<token>/<method>")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8081, help="port to bind (default: 8081)")
    serve.add_argument("--seed", type=int, default=0, help="seed for update ids (default: 0)")
    serve.add_argument(
        "--token", action="append", dest="tokens", metavar="TOKEN",
        help="accept only these tokens (repeatable); others get 401 Unauthorized",
    )
    serve.add_argument(
        "--log-entries", type=int, default=LOG_ENTRIES, metavar="N",
        help=f"keep the newest N requests in the log, 0 for all (default: {LOG_ENTRIES})",
    )
    serve.add_argument(
        "--header-timeout", type=float, default=HEADER_TIMEOUT, metavar="S",
        help=f"close a connection whose request headers are not whole after S seconds (default: {HEADER_TIMEOUT:g})",
    )
    serve.add_argument(
        "--body-timeout", type=float, default=BODY_TIMEOUT, metavar="S",
        help=f"close a connection whose request body is not whole S seconds after its headers (default: {BODY_TIMEOUT:g})",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port: expected 1..65535, got {args.port}")
    if args.log_entries < 0:
        parser.error(f"--log-entries: expected 0 (keep all) or a positive number, got {args.log_entries}")
    for name in ("header_timeout", "body_timeout"):
        if not 0 < getattr(args, name) < float("inf"):
            parser.error(f"--{name.replace('_', '-')}: expected a number of seconds > 0, got {getattr(args, name)}")
    return serve_forever(
        args.host, args.port, args.seed, args.tokens,
        log_entries=args.log_entries or None, header_timeout=args.header_timeout, body_timeout=args.body_timeout,
    )  # fmt: skip


def serve_forever(
    host: str, port: int, seed: int, tokens: list[str] | None, *,
    log_entries: int | None = LOG_ENTRIES, header_timeout: float = HEADER_TIMEOUT, body_timeout: float = BODY_TIMEOUT,
) -> int:  # fmt: skip
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # webhook POSTs are logged by the seam, URL secrets masked
    # The adapter, not the core, ties the fake to real time: loop time is monotonic, and so is
    # every delivery timer (retry ladder, 60 s answer timeout), which runs on the server's loop.
    # Webhooks are POSTed for real, to plain http on loopback only (setWebhook refuses the rest).
    fake = FakeTelegram(
        clock=time.monotonic, seed=seed, epoch=time.time() - time.monotonic(), tokens=tokens, log_entries=log_entries,
        deliver=HttpDeliver(), loopback_only=True,
    )  # fmt: skip
    print(f"fake Telegram Bot API on http://{host}:{port}/bot<token>/<method>", flush=True)
    # A pending long poll is an open request: without a bound, uvicorn's graceful shutdown
    # would wait for it (up to 50 s) before exiting on SIGTERM or Ctrl-C.
    uvicorn.run(
        asgi_app(fake), host=host, port=port, access_log=False, lifespan="off", log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_GRACE, http=timed_protocol(header_timeout, body_timeout),
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
