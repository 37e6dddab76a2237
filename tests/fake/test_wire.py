"""§1 requests and §2 responses (docs/telegram-rules.md), over both transports where observable."""

from __future__ import annotations

import gzip
import json

import pytest

from fake_telegram import FakeTelegram
from fake_telegram.core.params import to_bool, to_int
from fake_telegram.core.wire import read_params, route, split_target
from simbot.sim import run
from tests.conftest import OTHER_TOKEN, TOKEN, Api

NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}


def test_s1_1_get_and_post_both_accepted_and_method_names_case_insensitive(over):
    async def scenario(api: Api) -> None:
        for verb in ("GET", "POST"):
            for name in ("getMe", "getme", "GETME", "GeTmE"):
                reply = await api.call(name, verb=verb)
                assert reply.status == 200 and reply.result["id"] == 123456

    over(scenario)


def test_s1_1_method_may_come_from_a_method_parameter(over):
    async def scenario(api: Api) -> None:
        reply = await api.send(api.client.build_request("POST", f"/bot{TOKEN}/", data={"method": "getMe"}))
        assert reply.result["id"] == 123456

    over(scenario)


@pytest.mark.parametrize(
    "path",
    ["/", "/Bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe", f"/bot{TOKEN}", "/file/bot1/x", "/getMe"],
)
def test_s1_1_paths_outside_bot_token_method_get_bare_not_found(over, path):
    async def scenario(api: Api) -> None:
        reply = await api.send(api.client.build_request("GET", path))
        assert (reply.status, reply.body) == (404, NOT_FOUND)

    over(scenario)


def test_s1_1_unknown_method_is_not_found_like_the_hosted_server(over):
    async def scenario(api: Api) -> None:
        reply = await api.call("getUpdatez")
        assert (reply.status, reply.body) == (404, NOT_FOUND)

    over(scenario)


def test_s1_1_test_dc_segment_selects_a_separate_bot():
    async def main() -> None:
        fake = FakeTelegram()
        fake.push(TOKEN, {"poll": {"id": "1"}})
        prod = fake.receive("GET", f"/bot{TOKEN}/getUpdates")
        test = fake.receive("GET", f"/bot{TOKEN}/test/getUpdates")
        assert len(prod.update_ids) == 1 and test.update_ids == ()
        assert test.response.status == 200

    run(main())


def test_s1_1_path_is_url_decoded_and_a_hash_ends_it():
    assert split_target("/bot1%3Aab/get%4De?x=1#frag") == ("/bot1:ab/getMe", "x=1")
    assert split_target("/bot1:ab/getMe#?x=1") == ("/bot1:ab/getMe", "")
    assert route("/bot1:ab/getMe").token == "1:ab"  # type: ignore[union-attr]
    assert route("/bot1:ab") is None


def test_s1_2_other_verbs_get_a_bare_501(over):
    async def scenario(api: Api) -> None:
        for verb in ("PUT", "DELETE", "PATCH"):
            reply = await api.send(api.client.build_request(verb, f"/bot{TOKEN}/getMe"))
            assert (reply.status, reply.raw) == (501, b"")

    over(scenario)


def test_s1_3_parameters_from_query_urlencoded_json_and_multipart(over):
    async def scenario(api: Api) -> None:
        client = api.client
        url = f"/bot{TOKEN}/sendMessage"
        requests = [
            client.build_request("GET", url, params={"chat_id": "7", "text": "q"}),
            client.build_request("POST", url, data={"chat_id": "7", "text": "q"}),
            client.build_request("POST", url, json={"chat_id": 7, "text": "q"}),
            client.build_request("POST", url, data={"chat_id": "7"}, files={"text": (None, "q")}),
            client.build_request(
                "POST", url, content=b'{"chat_id":7,"text":"q"}',
                headers={"content-type": "Application/JSON; charset=utf-8"},
            ),
        ]  # fmt: skip
        for request in requests:
            reply = await api.send(request)
            assert reply.status == 200, (request, reply.body)
            assert reply.result["chat"]["id"] == 7 and reply.result["text"] == "q"

    over(scenario)


def test_s1_3_url_wins_over_body_and_first_occurrence_wins(over):
    async def scenario(api: Api) -> None:
        request = api.client.build_request(
            "POST", f"/bot{TOKEN}/sendMessage?chat_id=1&chat_id=2", data={"chat_id": "3", "text": "hi"}
        )
        assert (await api.send(request)).result["chat"]["id"] == 1

    over(scenario)


def test_s1_3_json_non_strings_arrive_as_raw_json_text(over):
    async def scenario(api: Api) -> None:
        url = f"/bot{TOKEN}/sendMessage"
        for raw, text in [(b"12.50", "12.50"), (b"null", "null"), (b"true", "true"), (b'{"a": [1, 2]}', '{"a": [1, 2]}')]:
            body = b'{"chat_id": 5, "text": ' + raw + b"}"
            request = api.client.build_request("POST", url, content=body, headers={"content-type": "application/json"})
            assert (await api.send(request)).result["text"] == text

    over(scenario)


def test_s1_3_top_level_json_string_becomes_content():
    async def main() -> None:
        fake = FakeTelegram()
        exchange = fake.receive("POST", f"/bot{TOKEN}/getMe", {"content-type": "application/json"}, b'"hello"')
        assert exchange.params == {"content": "hello"}

    run(main())


def test_s1_3_malformed_bodies_keep_what_parsed_before_the_fault(over):
    async def scenario(api: Api) -> None:
        body = b'{"chat_id": 5, "text": "kept", "broken'
        request = api.client.build_request(
            "POST", f"/bot{TOKEN}/sendMessage", content=body, headers={"content-type": "application/json"}
        )
        assert (await api.send(request)).result["text"] == "kept"
        junk = api.client.build_request(
            "POST", f"/bot{TOKEN}/getMe", content=b"\xff\x00{", headers={"content-type": "application/json"}
        )
        assert (await api.send(junk)).status == 200

    over(scenario)


def test_s1_3_oversize_parameters_get_a_bare_413(over):
    async def scenario(api: Api) -> None:
        reply = await api.call("sendMessage", chat_id="1", text="x" * (1 << 20))
        assert (reply.status, reply.raw) == (413, b"")
        assert (await api.call("sendMessage", chat_id="1", text="x" * 4096)).status == 200

    over(scenario)


def test_s1_3_gzip_bodies_are_decoded_and_unknown_encodings_refused(over):
    async def scenario(api: Api) -> None:
        url = f"/bot{TOKEN}/sendMessage"
        form = {"content-type": "application/x-www-form-urlencoded"}
        zipped = api.client.build_request(
            "POST", url, content=gzip.compress(b"chat_id=9&text=z"), headers={**form, "content-encoding": "gzip"}
        )
        assert (await api.send(zipped)).result["chat"]["id"] == 9
        brotli = api.client.build_request("POST", url, content=b"x", headers={**form, "content-encoding": "br"})
        reply = await api.send(brotli)
        assert (reply.status, reply.raw) == (415, b"")

    over(scenario)


def test_s1_3_multipart_files_are_not_parameters_and_at_most_50():
    fields = [(f"f{i}", ("x.txt", b"data")) for i in range(51)]
    import httpx

    request = httpx.Request("POST", "https://x/", files=fields[:50], data={"chat_id": "1"})
    params = read_params("", dict(request.headers), request.read())
    assert params["chat_id"] == "1" and "f0" not in params and len(params.files) == 50  # type: ignore[index,union-attr]
    request = httpx.Request("POST", "https://x/", files=fields)
    assert read_params("", dict(request.headers), request.read()).status == 413  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "value"),
    [("abc", 0), ("12abc", 12), ("1.9", 1), (" 5", 0), ("null", 0), ("-7", -7), ("+5", 0), ("--1", 0),
     ("4294967297", 1), ("2147483648", -2147483648)],
)  # fmt: skip
def test_s1_4_integers_read_digits_and_stop(text, value):
    assert to_int(text) == value


def test_s1_4_booleans_true_only_for_true_yes_1():
    assert all(to_bool(v) for v in ("true", " TRUE ", "yes", "Yes", "1"))
    assert not any(to_bool(v) for v in (None, "", "0", "false", "on", "y", "2"))


def test_s2_error_envelope_is_compact_in_order_and_status_equals_error_code(over):
    async def scenario(api: Api) -> None:
        reply = await api.call("sendMessage", text="x")
        assert reply.status == 400
        assert reply.raw == b'{"ok":false,"error_code":400,"description":"Bad Request: chat_id is empty"}'
        assert reply.headers["content-type"] == "application/json"
        assert "retry-after" not in reply.headers

    over(scenario)


def test_s2_success_envelope_carries_description_after_result(over):
    async def scenario(api: Api) -> None:
        reply = await api.call("deleteWebhook")
        assert reply.raw == b'{"ok":true,"result":true,"description":"Webhook is already deleted"}'

    over(scenario)


def test_s2_flood_envelope_has_retry_after_in_parameters_and_header(over):
    async def scenario(api: Api) -> None:
        assert (await api.call("setWebhook", url="https://example.com/hook")).status == 200
        reply = await api.call("setWebhook", url="https://example.com/other")
        assert reply.raw == (
            b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1",'
            b'"parameters":{"retry_after":1}}'
        )
        assert reply.headers["retry-after"] == "1"

    over(scenario)


def test_s2_update_objects_have_a_newline_after_update_id(over):
    async def scenario(api: Api) -> None:
        [uid] = await api.push({"poll": {"id": "p"}})
        reply = await api.call("getUpdates")
        expected = b'{"ok":true,"result":[{"update_id":%d,\n"poll":{"id":"p"}}]}' % uid
        assert reply.raw == expected
        assert json.loads(reply.raw)["result"][0]["poll"] == {"id": "p"}

    over(scenario)


def test_s10_tokens_malformed_is_not_found_bad_secret_is_unauthorized(over):
    async def scenario(api: Api) -> None:
        for token in ("0123:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "abc:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
                      "123456", ":x", "9" * 17 + ":" + "A" * 30, "123:" + "A" * 80):  # fmt: skip
            reply = await api.call("getMe", token=token)
            assert (reply.status, reply.body) == (404, NOT_FOUND), token
        for token in ("123:short", "123:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDs+w"):
            reply = await api.call("getMe", token=token)
            assert reply.body == {"ok": False, "error_code": 401, "description": "Unauthorized"}, token

    over(scenario)


def test_s10_allow_list_answers_unauthorized_to_other_tokens(over):
    async def scenario(api: Api) -> None:
        assert (await api.call("getMe")).status == 200
        assert (await api.call("getMe", token=OTHER_TOKEN)).body == {
            "ok": False, "error_code": 401, "description": "Unauthorized",
        }  # fmt: skip

    over(scenario, tokens=[TOKEN])


def test_getme_takes_the_bot_id_from_the_token(over):
    async def scenario(api: Api) -> None:
        me = (await api.call("getMe", token=OTHER_TOKEN)).result
        assert (me["id"], me["is_bot"], me["username"]) == (654321, True, "fake654321_bot")

    over(scenario)
