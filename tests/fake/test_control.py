"""The control API and the request log: the evidence the checkers read."""

from __future__ import annotations

import asyncio
import contextvars

import pytest

from fake_telegram import FakeTelegram, caller
from simbot.sim import run
from tests.conftest import TOKEN, Api


def test_push_over_http_assigns_ids_and_the_log_is_served_as_json(over):
    async def scenario(api: Api) -> None:
        single = await api.client.post(f"/_fake/bot{TOKEN}/updates", json={"poll": {"id": "1"}})
        [uid] = single.json()["result"]
        assert await api.push({"poll": {"id": "2"}}, {"poll": {"id": "3"}}) == [uid + 1, uid + 2]
        await api.call("getUpdates", offset=uid + 1)
        log = (await api.client.get(f"/_fake/bot{TOKEN}/log")).json()
        assert log["ok"] and [e["method"] for e in log["result"]] == ["getUpdates"]
        entry = log["result"][0]
        assert entry["update_ids"] == [uid + 1, uid + 2] and entry["status"] == 200
        assert entry["params"] == {"offset": str(uid + 1)} and entry["token"] == "123456:***"
        assert {"at", "caller", "answered_at", "kicked_by", "kicked", "abandoned_at", "long_poll"} <= set(entry)

    over(scenario)


@pytest.mark.parametrize(
    ("body", "description"),
    [(b'{"update_id": 5, "poll": {}}', "Bad Request: update_id is assigned by the server; leave it out"),
     (b'{"nonsense": {}}', "Bad Request: an update needs one of the update type fields (e.g. 'message'), got ['nonsense']"),
     (b"[1]", "Bad Request: an update must be a JSON object, got int"),
     (b"{not json", None)],
)  # fmt: skip
def test_control_rejects_bad_updates_with_a_telegram_shaped_400(over, body, description):
    async def scenario(api: Api) -> None:
        reply = await api.client.post(f"/_fake/bot{TOKEN}/updates", content=body)
        assert reply.status_code == 400 and reply.json()["ok"] is False
        if description:
            assert reply.json()["description"] == description

    over(scenario)


def test_control_routes_never_collide_with_the_bot_api(over):
    async def scenario(api: Api) -> None:
        assert (await api.client.get(f"/_fake/bot{TOKEN}/nothing")).status_code == 404
        assert (await api.client.get("/_fake/botjunk/log")).status_code == 404
        assert (await api.call("updates")).status == 404  # /bot<token>/updates is an unknown method

    fake = over(scenario)
    assert [e.method for e in fake.log] == ["updates"]  # control requests are not logged


def test_the_log_names_the_caller_from_the_context_variable():
    async def instance(fake: FakeTelegram, name: str) -> None:
        caller.set(name)
        fake.receive("POST", f"/bot{TOKEN}/getMe")

    async def main() -> list[str]:
        fake = FakeTelegram()
        fake.receive("POST", f"/bot{TOKEN}/getMe")
        for name in ("old", "new"):
            await asyncio.get_running_loop().create_task(instance(fake, name), context=contextvars.copy_context())
        fake.receive("POST", f"/bot{TOKEN}/getMe", who="explicit")
        return [e.caller for e in fake.log]

    assert run(main()) == ["unknown", "old", "new", "explicit"]


def test_the_caller_header_names_the_caller_over_http(over):
    async def scenario(api: Api) -> None:
        request = api.client.build_request("POST", f"/bot{TOKEN}/getMe", headers={"x-fake-caller": "web.1"})
        await api.send(request)

    fake = over(scenario)
    if fake.clock.__name__ == "monotonic":  # over HTTP only; in process the header is just a header
        assert fake.log[0].caller == "web.1"


def test_every_request_is_logged_even_the_rejected_ones(over):
    async def scenario(api: Api) -> None:
        await api.send(api.client.build_request("GET", "/nowhere"))
        await api.call("getMe", token="bad")
        await api.call("getMe")

    fake = over(scenario)
    assert [(e.token, e.method, e.status) for e in fake.log] == [
        (None, "", 404), ("bad", "getMe", 404), (TOKEN, "getMe", 200),
    ]  # fmt: skip


def test_push_needs_a_well_formed_token():
    async def main() -> None:
        with pytest.raises(ValueError, match="malformed bot token 'nope'"):
            FakeTelegram().push("nope", {"poll": {}})

    run(main())


def test_faults_answer_telegram_errors_for_a_while_then_stop(in_process):
    from fake_telegram import Fault

    async def scenario(api: Api) -> None:
        api.fake.faults.append(Fault(1.0, 3.0, 429, retry_after=7, methods=frozenset({"getUpdates"})))
        api.fake.faults.append(Fault(2.0, 3.0, 502))
        await api.sleep(1.0)
        flooded = await api.call("getUpdates")
        assert flooded.status == 429 and flooded.headers["retry-after"] == "7"
        assert (await api.call("getMe")).status == 200  # not a method the first fault covers
        await api.sleep(1.0)
        assert (await api.call("getMe")).body == {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        await api.sleep(1.0)
        assert (await api.call("getUpdates")).status == 200

    in_process(scenario)
