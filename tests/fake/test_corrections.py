"""The spec corrections of 2026-12-01 and the audit's findings, each against the pinned source.

Every test here failed before its fix.
"""

from __future__ import annotations

import gzip
import random

import pytest

from fake_telegram import FakeTelegram
from fake_telegram.core.updates import ID_LIMIT, MAX_RESULT_BYTES, UpdateQueue
from fake_telegram.core.wire import read_params
from simbot.sim import run
from tests.conftest import TOKEN, Api

FORM = {"content-type": "application/x-www-form-urlencoded"}


# -- §1.1: "/test" must be followed by "/" (HttpConnection.cpp:39-45) --------------------


@pytest.mark.parametrize("tail", ["test", "testing", "testgetMe"])
def test_s1_1_test_without_a_following_slash_is_not_found(over, tail):
    async def scenario(api: Api) -> None:
        def get(path: str) -> object:
            return api.send(api.client.build_request("GET", f"/bot{TOKEN}/{path}", params={"method": "getMe"}))

        reply = await get(tail)
        assert reply.body == {"ok": False, "error_code": 404, "description": "Not Found"}
        assert (await get("test/")).status == 200  # "/test/" then the method parameter
        assert (await get("test/getMe")).status == 200

    over(scenario)


# -- §1.3: malformed multipart and truncated bodies get a bare 400 --------------------


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=", 'multipart/form-data; boundary=""',
     "multipart/form-data; boundary", "multipart/form-data; boundary=" + "b" * 71],
)  # fmt: skip
def test_s1_3_multipart_without_a_usable_boundary_is_a_bare_400(over, content_type):
    async def scenario(api: Api) -> None:
        request = api.client.build_request(
            "POST", f"/bot{TOKEN}/getMe", content=b"--b\r\n\r\nx\r\n--b--\r\n", headers={"content-type": content_type}
        )
        reply = await api.send(request)
        assert (reply.status, reply.raw) == (400, b"")

    over(scenario)


@pytest.mark.parametrize(
    "part",
    [b"\r\n\r\nvalue",  # no headers at all
     b'\r\nContent-Disposition: attachment; name="a"\r\n\r\nvalue',  # not form-data
     b"\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nvalue",  # no name
     b"\r\nContent-Type: text/plain\r\n\r\nvalue",  # no Content-Disposition: no name
     b'\r\nContent-Disposition: form-data; name="a"\r\nno colon here\r\n\r\nvalue'],  # unparsable header
)  # fmt: skip
def test_s1_3_multipart_with_bad_part_headers_is_a_bare_400(over, part):
    async def scenario(api: Api) -> None:
        body = b"--b" + part + b"\r\n--b--\r\n"
        headers = {"content-type": "multipart/form-data; boundary=b"}
        reply = await api.send(api.client.build_request("POST", f"/bot{TOKEN}/getMe", content=body, headers=headers))
        assert (reply.status, reply.raw) == (400, b"")
        good = b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue\r\n--b--\r\n'
        assert (await api.send(api.client.build_request("POST", f"/bot{TOKEN}/getMe", content=good, headers=headers))).status == 200

    over(scenario)


def test_s1_3_a_body_shorter_than_its_content_length_is_a_bare_400():
    async def main() -> None:
        fake = FakeTelegram()
        short = fake.receive("POST", f"/bot{TOKEN}/getMe", {**FORM, "content-length": "20"}, b"a=1")
        assert (short.response.status, short.response.body) == (400, b"")
        whole = fake.receive("POST", f"/bot{TOKEN}/getMe", {**FORM, "content-length": "3"}, b"a=1")
        assert whole.response.status == 200

    run(main())


def test_s1_3_an_undecodable_gzip_body_is_a_bare_400(over):
    async def scenario(api: Api) -> None:
        headers = {**FORM, "content-encoding": "gzip"}
        broken = gzip.compress(b"chat_id=1&text=hi")[:-12] + b"\xff" * 12
        reply = await api.send(api.client.build_request("POST", f"/bot{TOKEN}/sendMessage", content=broken, headers=headers))
        assert (reply.status, reply.raw) == (400, b"")

    over(scenario)


# -- §2.4: sendMessage checks the text before chat_id (Client.cpp:12895) -------------


def test_s2_4_send_message_checks_the_text_before_chat_id(over):
    async def scenario(api: Api) -> None:
        assert (await api.call("sendMessage")).description == "Bad Request: message text is empty"
        assert (await api.call("sendMessage", chat_id="0")).description == "Bad Request: message text is empty"
        assert (await api.call("sendMessage", text="hi")).description == "Bad Request: chat_id is empty"

    over(scenario)


# -- §3.3: the 4 MiB budget as JsonUpdates counts it (Client.cpp:16301-16319) ---------


def _queue_of(cost: int, count: int) -> UpdateQueue:
    """``count`` poll updates, each costing exactly ``cost`` by the server's accounting."""
    queue = UpdateQueue(random.Random(0))
    for _ in range(count):
        queue.push({"poll": {"id": "y" * (cost - 50 - len('"poll":{"id":""}'))}}, "poll", 0.0)
    assert 50 + len(queue._entries[0].tail) - 1 == cost
    return queue


def test_s3_3_updates_cost_50_plus_their_type_slice_and_the_one_that_uses_the_budget_up_is_left_out():
    """JsonUpdates: left -= 50 + len('"poll":{…}'); stop when left <= 0, before adding that update."""
    assert len(_queue_of(MAX_RESULT_BYTES // 8 - 10, 9).read(0, 100, 0.0)) == 8  # 80 bytes left: all 8
    assert len(_queue_of(MAX_RESULT_BYTES // 8, 9).read(0, 100, 0.0)) == 7  # the 8th brings it to 0


# -- §6.2/§6.3: deleteWebhook stores allowed_updates only when nothing changes ---------


def test_s6_2_delete_webhook_with_nothing_to_delete_stores_allowed_updates(over):
    """Client.cpp:15758-15763: the "no change" branch saves allowed_updates for any method."""

    async def scenario(api: Api) -> None:
        reply = await api.call("deleteWebhook", allowed_updates=["poll"])
        assert reply.description == "Webhook is already deleted"
        assert (await api.call("getWebhookInfo")).result["allowed_updates"] == ["poll"]

    over(scenario)


def test_s6_3_deleting_a_webhook_or_dropping_updates_stores_no_allowed_updates(over):
    """do_set_webhook with an empty URL never reads allowed_updates (Client.cpp:16001-16060)."""

    async def scenario(api: Api) -> None:
        await api.call("setWebhook", url="https://example.com/hook")
        assert (await api.call("deleteWebhook", allowed_updates=["poll"])).description == "Webhook was deleted"
        assert "allowed_updates" not in (await api.call("getWebhookInfo")).result
        await api.call("deleteWebhook", drop_pending_updates=True, allowed_updates=["poll"])
        assert "allowed_updates" not in (await api.call("getWebhookInfo")).result

    over(scenario)


# -- §6.4: custom_event and custom_query are never listed (Client.cpp:5934) ------------


def test_s6_4_get_webhook_info_never_lists_custom_event_or_custom_query(over):
    async def scenario(api: Api) -> None:
        await api.call("getUpdates", allowed_updates=["message", "custom_event", "custom_query"])
        assert (await api.call("getWebhookInfo")).result["allowed_updates"] == ["message"]
        await api.call("getUpdates", allowed_updates=["custom_query"])  # stored, differs from the default
        assert (await api.call("getWebhookInfo")).result["allowed_updates"] == []
        assert await api.push({"custom_query": {"data": "1"}}) != [None]  # and it is really stored

    over(scenario)


# -- §7.1: a custom_query lives for its own timeout (Client.cpp:17265) -----------------


@pytest.mark.parametrize(("timeout", "lifetime"), [(40, 40.0), (None, 86400.0), (0, 86400.0), (-5, 86400.0)])
def test_s7_1_custom_query_expires_after_its_own_timeout(in_process, timeout, lifetime):
    async def scenario(api: Api) -> None:
        query = {"data": "{}"} if timeout is None else {"data": "{}", "timeout": timeout}
        await api.push({"custom_query": query})
        await api.sleep(lifetime - 1)
        assert (await api.call("getWebhookInfo")).result["pending_update_count"] == 1
        await api.sleep(1.5)
        assert (await api.call("getWebhookInfo")).result["pending_update_count"] == 0

    in_process(scenario)


# -- §7.2: 1,999,999,999 is never assigned (TQueue.cpp:169-179) ------------------------


def test_s7_2_the_last_id_below_the_ceiling_is_never_assigned():
    async def main() -> None:
        fake = FakeTelegram()
        fake.push(TOKEN, {"poll": {"id": "0"}})
        fake.bot(TOKEN).queue.next_id = ID_LIMIT - 1
        [restarted] = fake.push(TOKEN, {"poll": {"id": "1"}})
        assert restarted is not None and restarted < ID_LIMIT - 1

    run(main())


def test_multipart_parsing_keeps_the_boundary_quoting_and_case_rules():
    body = b'--Ab\r\nContent-Disposition: form-data; name="k"\r\n\r\nv\r\n--Ab--\r\n'
    params = read_params("", {"content-type": 'multipart/form-data; charset=x; Boundary="Ab"'}, body)
    assert dict(params) == {"k": "v"}  # type: ignore[arg-type]
