"""docs/examples/aiogram_lease_bot.py, for real: two processes, fake-telegram serve, a real Redis."""

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

BOT = Path(__file__).parents[2] / "docs" / "examples" / "aiogram_lease_bot.py"
KEY = "simbot:lease:telegram-poller"


def test_two_aiogram_lease_bots_poll_one_at_a_time_and_hand_over_on_sigterm(tmp_path, redis_url: str):
    lease = redis.Redis.from_url(redis_url, decode_responses=True)
    # a lease that a previous deploy ended (with no record at all, first use, the first holder waits one TTL)
    lease.delete(KEY)
    lease.hset(KEY, mapping={"owner": "previous-deploy", "expires": 0})
    with serve_fake(tmp_path) as server:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_SERVER": server.base,
            "REDIS_URL": redis_url,
        }
        bots = [subprocess.Popen([sys.executable, str(BOT)], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE) for _ in range(2)]  # fmt: skip
        try:
            with httpx.Client(base_url=server.base) as client:
                owner = wait_for(lambda: lease.hget(KEY, "owner") != "previous-deploy" and lease.hget(KEY, "owner"),
                                 60)  # importing aiogram takes seconds on a busy machine  # fmt: skip
                holder = next(b for b in bots if owner == f"{socket.gethostname()}:{b.pid}")
                other = next(b for b in bots if b is not holder)

                def log() -> list[dict]:  # type: ignore[type-arg]
                    return client.get(f"/_fake/bot{TOKEN}/log").json()["result"]  # type: ignore[no-any-return]

                def answered() -> int:
                    return sum(1 for e in log() if e["method"] == "sendMessage" and e["status"] == 200)

                update = {"message": {"message_id": 1, "date": int(time.time()), "text": "first",
                                      "chat": {"id": 7, "type": "private"}, "from": {"id": 7, "is_bot": False, "first_name": "U"}}}  # fmt: skip
                client.post(f"/_fake/bot{TOKEN}/updates", json=update)
                # a redis-server up for less than a TTL: the first holder waits 15 s first
                wait_for(lambda: answered() == 1, 45)

                holder.send_signal(signal.SIGTERM)
                assert holder.wait(15) == 0
                wait_for(lambda: lease.hget(KEY, "owner") == f"{socket.gethostname()}:{other.pid}")
                client.post(
                    f"/_fake/bot{TOKEN}/updates",
                    json={**update, "message": {**update["message"], "text": "second"}},
                )
                wait_for(lambda: answered() == 2)

                entries = log()
                # a 409 may only go to a ghost: a poll its client had already given up on
                live_conflicts = [e for e in entries if e["status"] == 409
                                  and (e["abandoned_at"] is None or e["abandoned_at"] > e["answered_at"])]  # fmt: skip
                assert not live_conflicts, "a 409 reached a waiting client: two pollers at once"
                texts = [e["params"]["text"] for e in entries if e["method"] == "sendMessage"]
                assert texts == ["first", "second"]  # each update handled exactly once, by aiogram's handler
                assert other.poll() is None  # the successor still runs
        finally:
            for bot in bots:
                if bot.poll() is None:
                    bot.send_signal(signal.SIGTERM)
            for bot in bots:
                try:
                    bot.wait(15)
                except subprocess.TimeoutExpired:
                    bot.kill()
            lease.close()
