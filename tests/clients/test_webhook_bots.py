"""Real webhook bots against ``fake-telegram serve``: updates reach them by real HTTP POSTs on loopback.

Each corpus bot (tests/bots/ptb_webhook: PTB 22 ``run_webhook``; tests/bots/aiogram_webhook:
aiogram 3 ``SimpleRequestHandler`` + ``setup_application`` under aiohttp) runs unmodified as
``python bot.py`` in a copy of its directory, with a clean environment that gives it a token, the
fake's address, a free port and a webhook URL. The fake POSTs each pushed update to it (the
delivery engine of docs/telegram-rules.md §12 through the serve transport's HTTP seam), the bot
echoes with sendMessage, and the fake's log shows ``deliver`` then ``ack``. With the webhook
re-set under another secret, the bot turns the POSTs away (PTB 403, aiogram 401) and the fake
retries on the ladder (at once, then 2 s, then 4 s); a URL off loopback is refused at setWebhook
and never contacted. Every wait is a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fake_telegram import message_update
from tests.clients.support import Server, free_port, serve_fake, server_log, wait_until, webhook_log

BOTS = Path(__file__).parent.parent / "bots"
SECRET = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WITHIN = 30.0  # real seconds any one expected thing may take on a loaded 2-core machine
RIGHT, WRONG = "right-secret_1", "wrong-secret_2"


@dataclass(frozen=True)
class Framework:
    directory: str
    path: str  # the webhook's path on the bot's server
    url_variable: str  # the environment variable the bot builds its webhook URL from
    refusal: tuple[int, str]  # its answer to a POST with the wrong secret: status, reason phrase

    def env(self, token: str, server: Server, port: int, base_url: str) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
        return env | {"BOT_TOKEN": token, "TELEGRAM_API_URL": server.base, "PORT": str(port),
                      "WEBHOOK_SECRET": RIGHT, self.url_variable: base_url}  # fmt: skip


FRAMEWORKS = {
    "ptb": Framework("ptb_webhook", "/telegram", "WEBHOOK_URL", (403, "Request had the wrong secret token")),
    "aiogram": Framework("aiogram_webhook", "/webhook", "BASE_WEBHOOK_URL", (401, "Unauthorized")),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server for the module; every bot has its own token."""
    with serve_fake(tmp_path_factory.mktemp("serve")) as running:
        yield running


@dataclass
class BotProcess:
    proc: subprocess.Popen[bytes]
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")


def start_bot(framework: Framework, directory: Path, env: dict[str, str]) -> BotProcess:
    shutil.copytree(BOTS / framework.directory, directory)
    output = directory.with_suffix(".log")
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "bot.py"], cwd=directory, env=env, stdout=sink, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    return BotProcess(proc, output)


def stop(bot: BotProcess) -> int:
    """SIGTERM, as a platform stops a container; SIGKILL only for one that outlives WITHIN."""
    if bot.proc.poll() is None:
        bot.proc.send_signal(signal.SIGTERM)
    try:
        return bot.proc.wait(WITHIN)
    except subprocess.TimeoutExpired:
        bot.proc.kill()
        return bot.proc.wait()


def accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


async def set_webhook(client: httpx.AsyncClient, token: str, **params: str) -> dict[str, Any]:
    """setWebhook as another instance of the bot would; a 429 (one per second) is waited out."""
    deadline = time.monotonic() + WITHIN
    while True:
        body = (await client.post(f"/bot{token}/setWebhook", data=params)).json()
        if body.get("error_code") != 429 or time.monotonic() > deadline:
            return body
        await asyncio.sleep(body["parameters"]["retry_after"] / 4)


def replies(log: list[dict[str, Any]]) -> list[str]:
    return [e["params"].get("text", "") for e in log if e["method"] == "sendMessage" and e["status"] == 200]


def of(events: list[dict[str, Any]], update_id: int, kind: str | None = None) -> list[dict[str, Any]]:
    return [e for e in events if e["update_id"] == update_id and (kind is None or e["event"] == kind)]


async def push(client: httpx.AsyncClient, token: str, text: str) -> int:
    response = await client.post(
        f"/_fake/bot{token}/updates", json=message_update(text, date=int(time.time()))
    )
    body = response.json()
    assert body["ok"] and body["result"][0] is not None, body
    return body["result"][0]


@dataclass
class Echoing:
    """A bot serving its webhook on 127.0.0.1:``port`` at ``url``."""

    bot: BotProcess
    token: str
    port: int
    url: str


@pytest.fixture(scope="module", autouse=True)
def echoing(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Echoing]]:
    """Started with the module, so that the bots' imports (aiogram's takes seconds of CPU) overlap."""
    directory = tmp_path_factory.mktemp("echoing")
    started: dict[str, Echoing] = {}
    try:
        for i, (name, framework) in enumerate(FRAMEWORKS.items()):
            token, port = f"40000{i + 1}:{SECRET}", free_port()
            env = framework.env(token, server, port, f"http://127.0.0.1:{port}")
            bot = start_bot(framework, directory / name, env)
            started[name] = Echoing(bot, token, port, f"http://127.0.0.1:{port}{framework.path}")
        yield started
    finally:
        for each in started.values():
            stop(each.bot)


@pytest.mark.parametrize("name", FRAMEWORKS)
def test_a_real_webhook_bot_gets_updates_by_post_and_a_wrong_secret_is_retried_on_the_ladder(
    server: Server, echoing: dict[str, Echoing], name: str
) -> None:
    framework = FRAMEWORKS[name]
    bot, token, port, url = (getattr(echoing[name], f) for f in ("bot", "token", "port", "url"))
    figures: dict[str, float] = {}

    async def main() -> None:
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:

            async def logged(method: str, status: int) -> bool:
                return any(
                    e["method"] == method and e["status"] == status for e in await server_log(client, token)
                )

            async def listening() -> bool:
                return await logged("setWebhook", 200) and accepting(port)

            async def answered(text: str) -> bool:
                return text in replies(await server_log(client, token))

            await wait_until(
                listening, within=WITHIN, what=f"{name}: setWebhook and a listening port\n{bot.text()}"
            )
            info = (await client.get(f"/bot{token}/getWebhookInfo")).json()["result"]
            assert info["url"] == url, info

            # 1. an update reaches the bot by POST; its echo comes back as sendMessage
            pushed = time.monotonic()
            first = await push(client, token, "hello over a webhook")
            await wait_until(
                lambda: answered("hello over a webhook"),
                within=WITHIN,
                what=f"{name}: the echo\n{bot.text()}",
            )
            figures["push_to_echo"] = time.monotonic() - pushed
            events = of(await webhook_log(client, token), first)
            assert [(e["event"], e["attempt"], e["status"]) for e in events] == [
                ("deliver", 1, None),
                ("ack", 1, 200),
            ]
            assert all(e["url"] == url for e in events), events
            figures["post_round_trip"] = events[1]["at"] - events[0]["at"]

            # 2. the webhook re-set with another secret: the bot refuses every POST; the fake retries
            reply = await set_webhook(client, token, url=url, secret_token=WRONG)
            assert reply["description"] == "Webhook was set", reply
            second = await push(client, token, "sent while the secret is wrong")

            async def three_failures() -> bool:
                return len(of(await webhook_log(client, token), second, "fail")) >= 3

            await wait_until(three_failures, within=WITHIN, what=f"{name}: three failed POSTs\n{bot.text()}")
            events = of(await webhook_log(client, token), second)
            fails = [e for e in events if e["event"] == "fail"][:3]
            delivers = [e for e in events if e["event"] == "deliver"][:3]
            status, reason = framework.refusal
            error = f"Wrong response from the webhook: {status} {reason}"
            assert [(e["status"], e["error"]) for e in fails] == [(status, error)] * 3, fails
            assert [e["retry_in"] for e in fails] == [0.0, 2.0, 4.0], fails  # the ladder: at once, 2 s, 4 s
            assert [e["attempt"] for e in delivers] == [1, 2, 3], delivers
            at_once = delivers[1]["at"] - fails[0]["at"]
            after_two = delivers[2]["at"] - fails[1]["at"]
            assert at_once < 1.0, at_once
            assert 2.0 - 0.05 <= after_two < 3.5, after_two  # on the server's real clock
            figures["retry_at_once"], figures["retry_after_2s"] = at_once, after_two
            info = (await client.get(f"/bot{token}/getWebhookInfo")).json()["result"]
            assert (info["last_error_message"], info["pending_update_count"]) == (error, 1), info
            assert "sent while the secret is wrong" not in replies(await server_log(client, token))

            # 3. the right secret again: the held update goes out from the queue head and is answered
            reply = await set_webhook(client, token, url=url, secret_token=RIGHT)
            assert reply["description"] == "Webhook was set", reply
            await wait_until(lambda: answered("sent while the secret is wrong"), within=WITHIN,
                             what=f"{name}: the echo after the secret was fixed\n{bot.text()}")  # fmt: skip
            acks = of(await webhook_log(client, token), second, "ack")
            # a fresh delivery: attempt 1 again, from the queue head
            assert [(e["attempt"], e["status"]) for e in acks] == [(1, 200)], acks

    try:
        asyncio.run(main())
    finally:
        code = stop(bot)
    assert code == 0, bot.text()
    print(f"{name}: " + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in figures.items()))


@dataclass
class OffLoopback:
    """Both bots pointed at http://0.0.0.0:PORT, where ``trap`` listens (Linux connects 0.0.0.0 to this machine)."""

    tokens: dict[str, str]
    bots: dict[str, BotProcess]
    trap: socket.socket


@pytest.fixture(scope="module", autouse=True)
def off_loopback(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OffLoopback]:
    """Started with the module, so that their imports (aiogram's takes seconds of CPU) overlap the other tests."""
    directory = tmp_path_factory.mktemp("off-loopback")
    tokens = {name: f"4001{i}:{SECRET}" for i, name in enumerate(FRAMEWORKS)}
    with socket.socket() as trap:  # anything that connects to the refused URL is seen here
        trap.bind(("127.0.0.1", 0))
        trap.listen()
        trap.setblocking(False)
        base = f"http://0.0.0.0:{trap.getsockname()[1]}"
        bots = {name: start_bot(framework, directory / name, framework.env(tokens[name], server, free_port(), base))
                for name, framework in FRAMEWORKS.items()}  # fmt: skip
        try:
            yield OffLoopback(tokens, bots, trap)
        finally:
            for bot in bots.values():
                stop(bot)


def test_a_webhook_url_off_loopback_is_refused_at_set_webhook_and_never_contacted(
    server: Server, off_loopback: OffLoopback
) -> None:
    """setWebhook answers 400 ``bad webhook``, the framework raises it and the bot exits; nothing connects.

    The https and other-host cases are in tests/fake/test_webhook_serve.py.
    """
    tokens, bots = off_loopback.tokens, off_loopback.bots

    async def main() -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]]:
        seen = {}
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
            for name, token in tokens.items():

                async def answered(token: str = token) -> bool:
                    log = await server_log(client, token)
                    return any(e["method"] == "setWebhook" and e["status"] is not None for e in log)

                await wait_until(answered, within=WITHIN, what=f"{name}: its setWebhook\n{bots[name].text()}")
                await push(client, token, "anyone there?")
                info = (await client.get(f"/bot{token}/getWebhookInfo")).json()["result"]
                seen[name] = (await server_log(client, token), await webhook_log(client, token), info)
        return seen

    seen = asyncio.run(main())
    for name, (log, events, info) in seen.items():
        refusals = [(e["status"], e["description"]) for e in log if e["method"] == "setWebhook"]
        assert refusals == [(400, NOT_LOOPBACK)], (name, refusals)
        assert events == [], events
        assert (info["url"], info["pending_update_count"]) == ("", 1), info
    codes = {
        name: bot.proc.wait(WITHIN) for name, bot in bots.items()
    }  # run_webhook raises; aiohttp's startup
    with pytest.raises(BlockingIOError):
        off_loopback.trap.accept()  # nobody connected
    for name, bot in bots.items():
        assert codes[name] != 0, bot.text()
        assert NOT_LOOPBACK.partition("bad webhook: ")[2] in bot.text(), bot.text()


def test_a_refused_connection_is_stored_and_retried_after_the_connection_throttle(server: Server) -> None:
    """Nobody listening: ``Connection refused`` in the events and getWebhookInfo; the retry is "at once",
    but its new connection waits for the pending mode's one-per-2-s throttle (§12.3, §12.5)."""
    token = f"400200:{SECRET}"
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"

        async def main() -> tuple[list[dict[str, Any]], dict[str, Any]]:
            async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
                assert (await set_webhook(client, token, url=url))["description"] == "Webhook was set"
                update = await push(client, token, "knock knock")

                async def two_failures() -> bool:
                    return len(of(await webhook_log(client, token), update, "fail")) >= 2

                await wait_until(two_failures, within=WITHIN, what="two refused POSTs")
                info = (await client.get(f"/bot{token}/getWebhookInfo")).json()["result"]
                return of(await webhook_log(client, token), update), info

        events, info = asyncio.run(main())
    fails = [e for e in events if e["event"] == "fail"][:2]
    delivers = [e for e in events if e["event"] == "deliver"][:2]
    assert [(e["error"], e["status"], e["retry_in"]) for e in fails] == [
        ("Connection refused", None, 0.0),
        ("Connection refused", None, 2.0),
    ], fails
    assert 2.0 - 0.05 <= delivers[1]["at"] - delivers[0]["at"] < 3.5, delivers
    assert (info["last_error_message"], info["pending_update_count"]) == ("Connection refused", 1), info


NOT_LOOPBACK = (
    "Bad Request: bad webhook: fake-telegram serve posts only to a loopback host (127.0.0.0/8, ::1, localhost), "
    "not 0.0.0.0"
)
