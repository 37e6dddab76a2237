"""docs/examples/practices/redis_lock/ptb_bot.py, for real: two processes, fake-telegram serve, a real Redis.

What the simulation says of the naive Redis lock on a deploy (docs/practices.md: the new
instance waits while the old one holds ``bot:lock``, and takes it once the old one deleted it
on SIGTERM) is what two real processes do against a real redis-server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis

from tests.clients.support import serve_fake
from tests.conftest import TOKEN
from tests.startup.test_docs_bot import wait_for

BOT = Path(__file__).parents[2] / "docs" / "examples" / "practices" / "redis_lock" / "ptb_bot.py"
RUNNER = Path(__file__).parent / "against_fake.py"


def update(text: str) -> dict:  # type: ignore[type-arg]
    return {"message": {"message_id": 1, "date": int(time.time()), "text": text, "chat": {"id": 7, "type": "private"},
                        "from": {"id": 7, "is_bot": False, "first_name": "U"}}}  # fmt: skip


def test_the_second_lock_bot_waits_for_the_first_and_takes_over_after_its_sigterm(tmp_path, redis_url: str):
    store = redis.Redis.from_url(redis_url, decode_responses=True)
    store.delete("bot:lock")
    with serve_fake(tmp_path) as server:
        env = {**os.environ, "BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.base, "REDIS_URL": redis_url}
        logs = [tmp_path / "first.log", tmp_path / "second.log"]

        def start(log: Path) -> subprocess.Popen:  # type: ignore[type-arg]
            with log.open("wb") as sink:
                return subprocess.Popen([sys.executable, str(RUNNER), str(BOT)], env=env, stdout=sink,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip

        first = start(logs[0])
        bots = [first]
        try:
            with httpx.Client(base_url=server.base) as client:

                def answered() -> list[str]:
                    log = client.get(f"/_fake/bot{TOKEN}/log").json()["result"]
                    return [
                        e["params"]["text"]
                        for e in log
                        if e["method"] == "sendMessage" and e["status"] == 200
                    ]

                wait_for(lambda: store.get("bot:lock") == f"{socket.gethostname()}:{first.pid}", 30)
                acquired = time.monotonic()
                client.post(f"/_fake/bot{TOKEN}/updates", json=update("first"))
                wait_for(lambda: answered() == ["first"], 30)

                second = start(logs[1])
                bots.append(second)
                wait_for(lambda: "holds bot:lock, waiting" in logs[1].read_text(), 30)
                time.sleep(max(0.0, acquired + 7.0 - time.monotonic()))  # past one 6 s TTL: it was renewed
                assert store.get("bot:lock") == f"{socket.gethostname()}:{first.pid}"
                assert 0 < store.pttl("bot:lock") <= 6000

                first.send_signal(signal.SIGTERM)
                assert first.wait(15) == 0
                assert "Released bot:lock" in logs[0].read_text()  # after its updater stopped polling
                wait_for(lambda: store.get("bot:lock") == f"{socket.gethostname()}:{second.pid}", 15)
                client.post(f"/_fake/bot{TOKEN}/updates", json=update("second"))
                wait_for(lambda: answered() == ["first", "second"], 30)

                log = client.get(f"/_fake/bot{TOKEN}/log").json()["result"]
                live_conflicts = [e for e in log if e["status"] == 409
                                  and (e["abandoned_at"] is None or e["abandoned_at"] > e["answered_at"])]  # fmt: skip
                assert not live_conflicts, "a 409 reached a waiting client: two pollers at once"

                second.send_signal(signal.SIGTERM)
                assert second.wait(15) == 0
                assert store.get("bot:lock") is None  # deleted in its shutdown too
        finally:
            for bot in bots:
                if bot.poll() is None:
                    bot.send_signal(signal.SIGTERM)
            for bot in bots:
                try:
                    bot.wait(15)
                except subprocess.TimeoutExpired:
                    bot.kill()
            store.close()
