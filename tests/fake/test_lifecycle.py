"""§8 close and logOut; start-up methods and the outbox (docs/telegram-rules.md)."""

from __future__ import annotations

import pytest

from tests.conftest import TOKEN, Api

POLL = {"poll": {"id": "p"}}


def test_s8_1_close_is_refused_for_the_first_10_minutes_with_the_remaining_seconds(in_process):
    async def scenario(api: Api) -> None:
        await api.call("getMe")  # the bot instance starts here
        await api.sleep(100.5)
        reply = await api.call("close")
        assert reply.raw == (
            b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 499",'
            b'"parameters":{"retry_after":499}}'
        )
        assert reply.headers["retry-after"] == "499"

    in_process(scenario)


def test_s8_1_close_then_restart_then_already_closed(in_process):
    async def scenario(api: Api) -> None:
        [uid] = await api.push(POLL)
        await api.sleep(600)
        poll = api.start("getUpdates", offset=uid + 1, timeout=30)
        await api.settle()
        assert (await api.call("close")).body == {"ok": True, "result": True}
        answered = await poll
        assert (answered.status, answered.result, answered.waited) == (200, [], 0)  # answered normally
        restarting = await api.call("getMe")
        assert restarting.body == {"ok": False, "error_code": 500, "description": "Internal Server Error: restart"}
        await api.sleep(1)
        again = await api.call("close")
        assert again.body == {"ok": False, "error_code": 400, "description": "Bad Request: the bot has already been closed"}
        assert (await api.call("getMe")).status == 200  # any other request logs the bot in again
        assert (await api.call("close")).status == 429  # ... as a new, young instance

    in_process(scenario)


def test_s8_1_close_keeps_pending_updates(in_process):
    async def scenario(api: Api) -> None:
        pushed = await api.push(POLL, POLL)
        await api.sleep(600)
        await api.call("close")
        await api.sleep(1)
        assert [u["update_id"] for u in (await api.call("getUpdates")).result] == pushed

    in_process(scenario)


def test_s8_2_log_out_clears_the_queue_and_answers_logged_out_for_a_while(in_process):
    async def scenario(api: Api) -> None:
        await api.push(POLL, POLL)
        await api.call("setWebhook", url="https://example.com/hook")
        assert (await api.call("logOut")).body == {"ok": True, "result": True}
        reply = await api.call("getMe")
        assert reply.raw == b'{"ok":false,"error_code":400,"description":"Logged out"}'
        await api.sleep(1799)  # authorized less than 30 minutes ago: lingers until then
        assert (await api.call("getUpdates")).description == "Logged out"
        await api.sleep(1)
        info = await api.call("getWebhookInfo")
        assert info.result == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    in_process(scenario)


def test_s8_2_an_old_login_lingers_one_second(in_process):
    async def scenario(api: Api) -> None:
        await api.call("getMe")
        await api.sleep(1801)
        await api.call("logOut")
        assert (await api.call("getMe")).status == 400
        await api.sleep(1)
        assert (await api.call("getMe")).status == 200

    in_process(scenario)


def test_send_message_is_answered_like_telegram_and_recorded_in_the_outbox(over):
    async def scenario(api: Api) -> None:
        first = await api.call("sendMessage", chat_id=42, text="hello")
        message = first.result
        assert (message["message_id"], message["chat"], message["text"]) == (
            1, {"id": 42, "first_name": "User", "type": "private"}, "hello",
        )  # fmt: skip
        assert message["from"]["id"] == 123456 and message["date"] == pytest.approx(api.unix(), abs=2)
        assert (await api.call("sendMessage", chat_id=-100123, text="x")).result["message_id"] == 2
        assert (await api.call("setMyCommands", commands=[{"command": "a", "description": "b"}])).result is True
        assert (await api.call("getMyCommands")).result == [{"command": "a", "description": "b"}]  # kept, as Telegram does

    fake = over(scenario)
    assert [(e.method, e.params.get("text")) for e in fake.outbox(TOKEN)] == [
        ("sendMessage", "hello"), ("sendMessage", "x"), ("setMyCommands", None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("params", "description"),
    [({"text": "x"}, "Bad Request: chat_id is empty"),
     ({"chat_id": "5", "text": " "}, "Bad Request: message text is empty"),
     ({"chat_id": "@nobody", "text": "x"}, "Bad Request: chat not found")],
)  # fmt: skip
def test_send_message_errors(over, params, description):
    async def scenario(api: Api) -> None:
        reply = await api.call("sendMessage", **params)
        assert (reply.status, reply.description) == (400, description)

    fake = over(scenario)
    assert fake.outbox() == []
