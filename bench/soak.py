"""``python -m bench.soak``: the fake's memory under sustained load, over loopback.

Starts ``fake-telegram serve`` on a free loopback port, sends it REQUESTS requests over
a few keep-alive connections (sendMessage with 2 KB texts and now and then one of
900 KB, getMe, getUpdates with timeout 0, and a page of ``/_fake/log`` every 1,000),
samples the server's RSS every SAMPLE requests, stops it, and reports. Bounded in
count and in time (``--max-seconds``), loopback only, and it stops the server itself.

The claim it checks: after the request log's ring has filled (10,000 entries by
default), RSS stays flat: growth from the first sample after warm-up to the end is
at most ``--bound-mib`` (default 16 MiB). Exit 1 when it is not.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CONNECTIONS = 8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="how many requests (default 100000)")
    parser.add_argument("--sample", type=int, default=10_000, help="sample RSS every N requests (default 10000)")
    parser.add_argument("--max-seconds", type=float, default=600, help="stop after this long whatever the count")
    parser.add_argument("--bound-mib", type=float, default=16, help="allowed RSS growth after warm-up (MiB)")
    parser.add_argument("--quick", action="store_true", help="2,000 requests: does it run, not is it flat")
    parser.add_argument("--json-line", action="store_true", help="print the figures as one JSON line at the end")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.sample = 2_000, 500
    for name in ("requests", "sample"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}: expected a positive number, got {getattr(args, name)}")
    figures = soak(args.requests, args.sample, args.max_seconds, args.bound_mib)
    print(report(figures), file=sys.stderr if args.json_line else sys.stdout)
    if args.json_line:
        print(json.dumps(figures))
    return 0 if figures["flat"] or args.quick else 1


def soak(requests: int, sample: int, max_seconds: float, bound_mib: float) -> dict[str, Any]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "fake_telegram.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        _wait_listening(port, server)
        samples = asyncio.run(_load(port, server.pid, requests, sample, max_seconds))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    warm = next((s for s in samples if s["requests"] >= min(20_000, requests // 5)), samples[0])
    growth = (samples[-1]["rss_kib"] - warm["rss_kib"]) / 1024
    return {
        "requests": samples[-1]["requests"], "seconds": samples[-1]["seconds"], "samples": samples,
        "warm_at": warm["requests"], "growth_mib": growth, "bound_mib": bound_mib,
        "flat": growth <= bound_mib and samples[-1]["requests"] == requests,
    }  # fmt: skip


async def _load(port: int, pid: int, total: int, sample: int, max_seconds: float) -> list[dict[str, Any]]:
    started = time.monotonic()
    sent = 0
    samples = [{"requests": 0, "seconds": 0.0, "rss_kib": _rss_kib(pid)}]
    next_sample = sample

    async def worker() -> None:
        nonlocal sent, next_sample
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while sent < total and time.monotonic() - started < max_seconds:
                n = sent
                sent += 1
                writer.write(_request(n))
                await _read_response(reader)
                if sent >= next_sample:
                    next_sample += sample
                    samples.append({"requests": sent, "seconds": time.monotonic() - started, "rss_kib": _rss_kib(pid)})
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    if samples[-1]["requests"] != sent:
        samples.append({"requests": sent, "seconds": time.monotonic() - started, "rss_kib": _rss_kib(pid)})
    return samples


_SMALL_TEXT = "x" * 2000
_BIG_TEXT = "y" * 900_000


def _request(n: int) -> bytes:
    if n % 1000 == 999:
        return f"GET /_fake/log?offset={max(0, n - 500)}&limit=100 HTTP/1.1\r\nHost: soak\r\n\r\n".encode()
    kind = n % 10
    if kind < 5:
        text = _BIG_TEXT if n % 2000 == 0 else _SMALL_TEXT
        body = f"chat_id=1&text={text}".encode()
        head = (f"POST /bot{TOKEN}/sendMessage HTTP/1.1\r\nHost: soak\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n")  # fmt: skip
        return head.encode() + body
    if kind < 8:
        return f"GET /bot{TOKEN}/getMe HTTP/1.1\r\nHost: soak\r\n\r\n".encode()
    # a new offset each time: the same one within 3 s would be raised to a 3 s long poll (§3.2)
    return f"GET /bot{TOKEN}/getUpdates?timeout=0&offset={n} HTTP/1.1\r\nHost: soak\r\n\r\n".encode()


async def _read_response(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"soak: fake-telegram serve exited {server.returncode}: {server.stderr.read()[-2000:]!r}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"soak: fake-telegram serve did not listen on 127.0.0.1:{port} within 20 s")


def report(f: dict[str, Any]) -> str:
    rate = f["requests"] / f["seconds"] if f["seconds"] else 0.0
    points = ", ".join(f"{s['requests'] // 1000}k: {s['rss_kib'] / 1024:.0f}" for s in f["samples"])
    verdict = "flat" if f["flat"] else "NOT FLAT"
    return (f"soak: {f['requests']:,} requests in {f['seconds']:.1f} s ({rate:,.0f}/s) over {CONNECTIONS} connections; "
            f"server RSS MiB at {points}; growth after {f['warm_at']:,} requests {f['growth_mib']:+.1f} MiB "
            f"[bound ≤ {f['bound_mib']:g} MiB: {verdict}]")  # fmt: skip


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
