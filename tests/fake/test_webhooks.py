"""§6 webhooks (docs/telegram-rules.md)."""

from __future__ import annotations

import pytest

from tests.conftest import Api

HOOK = "https://example.com/hook"
POLL = {"poll": {"id": "p"}}


def test_s6_1_get_updates_while_a_webhook_is_set_is_a_409(over):
    async def scenario(api: Api) -> None:
        await api.call("setWebhook", url=HOOK)
        reply = await api.call("getUpdates")
        assert reply.body == {
            "ok": False, "error_code": 409,
            "description": "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        }  # fmt: skip

    over(scenario)


def test_s6_1_the_webhook_check_comes_before_anything_else(in_process):
    async def scenario(api: Api) -> None:
        [uid] = await api.push(POLL)
        await api.call("setWebhook", url=HOOK)
        await api.call("getUpdates", offset=uid + 1, allowed_updates=["message"], timeout=0)
        info = (await api.call("getWebhookInfo")).result
        assert info["pending_update_count"] == 1 and "allowed_updates" not in info  # nothing applied
        await api.call("deleteWebhook")
        await api.call("getUpdates", offset=uid + 1, timeout=0)  # previous-call fields untouched:
        assert (await api.call("getUpdates", offset=7, timeout=0)).waited == 0  # no bump from the 409 call

    in_process(scenario)


def test_s6_2_set_webhook_kicks_the_pending_poll_even_with_an_invalid_url(over):
    async def scenario(api: Api) -> None:
        poll = api.start("getUpdates", timeout=10)
        await api.settle()
        reply = await api.call("setWebhook", url="ftp://example.com/x")
        assert reply.body == {"ok": False, "error_code": 400, "description": "Bad Request: invalid webhook URL specified"}
        kicked = await poll
        assert (kicked.status, kicked.description) == (409, "Conflict: terminated by setWebhook request")

    over(scenario)


def test_s6_2_set_webhook_is_limited_to_once_per_second(in_process):
    async def scenario(api: Api) -> None:
        assert (await api.call("setWebhook", url=HOOK)).status == 200
        await api.sleep(0.9)
        limited = await api.call("setWebhook", url=HOOK + "2")
        assert limited.status == 429 and limited.headers["retry-after"] == "1"
        assert (await api.call("deleteWebhook")).status == 200  # deleteWebhook is not limited
        await api.sleep(0.1)
        assert (await api.call("setWebhook", url=HOOK + "2")).status == 200

    in_process(scenario)


def test_s6_2_s6_3_success_descriptions(over):
    async def scenario(api: Api) -> None:
        steps = [
            ("setWebhook", {"url": HOOK}, "Webhook was set"),
            ("setWebhook", {"url": HOOK}, "Webhook is already set"),
            ("deleteWebhook", {}, "Webhook was deleted"),
            ("deleteWebhook", {}, "Webhook is already deleted"),
            ("setWebhook", {"url": ""}, "Webhook is already deleted"),
        ]
        for i, (method, params, description) in enumerate(steps):
            if i == 1:
                await api.sleep(1.0)  # a second non-empty setWebhook within 1 s would get 429
            reply = await api.call(method, **params)
            assert reply.body == {"ok": True, "result": True, "description": description}, (method, params)

    over(scenario)


def test_s6_3_delete_webhook_never_kicks_a_pending_poll(over):
    async def scenario(api: Api) -> None:
        poll = api.start("getUpdates", timeout=1)
        await api.settle()
        await api.call("deleteWebhook", drop_pending_updates=True)
        assert (await poll).status == 200

    over(scenario)


@pytest.mark.parametrize("method", ["setWebhook", "deleteWebhook"])
def test_s6_2_s6_3_drop_pending_updates_clears_the_queue(over, method):
    async def scenario(api: Api) -> None:
        await api.push(POLL, POLL)
        params = {"url": HOOK} if method == "setWebhook" else {}
        reply = await api.call(method, drop_pending_updates="True", **params)
        assert reply.status == 200
        if method == "deleteWebhook":
            assert reply.description == "Webhook is already deleted"
        assert (await api.call("getWebhookInfo")).result["pending_update_count"] == 0

    over(scenario)


def test_s6_2_an_unchanged_webhook_still_updates_allowed_updates(over):
    async def scenario(api: Api) -> None:
        await api.call("setWebhook", url=HOOK)
        await api.sleep(1.0)
        reply = await api.call("setWebhook", url=HOOK, allowed_updates=["callback_query"])
        assert reply.description == "Webhook is already set"
        info = (await api.call("getWebhookInfo")).result
        assert info["allowed_updates"] == ["callback_query"]

    over(scenario)


@pytest.mark.parametrize(
    ("url", "description"),
    [("http://example.com/x", "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"),
     ("https://example.com:8080/x", "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"),
     ("https://127.0.0.1/x", "Bad Request: bad webhook: IP address 127.0.0.1 is reserved"),
     ("https://10.1.2.3:8443/x", "Bad Request: bad webhook: IP address 10.1.2.3 is reserved"),
     ("https://[2001:db8::1]/x", "Bad Request: bad webhook: IPv6-only addresses are not allowed"),
     ("https:///x", "Bad Request: invalid webhook URL specified")],
)  # fmt: skip
def test_s6_2_webhook_url_validation(over, url, description):
    async def scenario(api: Api) -> None:
        reply = await api.call("setWebhook", url=url)
        assert (reply.status, reply.description) == (400, description)
        assert (await api.call("getWebhookInfo")).result["url"] == ""

    over(scenario)


def test_s6_2_urls_without_scheme_default_to_https(over):
    async def scenario(api: Api) -> None:
        assert (await api.call("setWebhook", url="example.com:88/hook")).description == "Webhook was set"

    over(scenario)


def test_s6_2_secret_token_rules(over):
    async def scenario(api: Api) -> None:
        too_long = await api.call("setWebhook", url=HOOK, secret_token="a" * 257)
        assert too_long.description == "Bad Request: secret token is too long"
        await api.sleep(1.0)
        bad = await api.call("setWebhook", url=HOOK, secret_token="no spaces")
        assert bad.description == "Bad Request: secret token contains unallowed characters"
        await api.sleep(1.0)
        assert (await api.call("setWebhook", url=HOOK, secret_token="A-z_09" * 40)).status == 200

    over(scenario)


def test_s6_4_get_webhook_info_without_a_webhook(over):
    async def scenario(api: Api) -> None:
        await api.push(POLL, POLL, POLL)
        reply = await api.call("getWebhookInfo")
        assert reply.raw == b'{"ok":true,"result":{"url":"","has_custom_certificate":false,"pending_update_count":3}}'

    over(scenario)


def test_s6_4_get_webhook_info_fields_and_their_order_with_a_webhook(over):
    async def scenario(api: Api) -> None:
        await api.call("setWebhook", url=HOOK, max_connections=500, allowed_updates=["message", "poll"])
        info = (await api.call("getWebhookInfo")).result
        assert list(info.items()) == [
            ("url", HOOK), ("has_custom_certificate", False), ("pending_update_count", 0),
            ("max_connections", 100), ("ip_address", "<unknown>"), ("allowed_updates", ["message", "poll"]),
        ]  # fmt: skip
        await api.sleep(1.0)
        await api.call("setWebhook", url=HOOK, ip_address="1.2.3.4")
        info = (await api.call("getWebhookInfo")).result
        assert (info["ip_address"], info["max_connections"]) == ("1.2.3.4", 40)

    over(scenario)


def test_s7_4_allowed_updates_is_shared_between_set_webhook_and_get_updates(over):
    async def scenario(api: Api) -> None:
        await api.call("setWebhook", url=HOOK, allowed_updates=["poll"])
        await api.call("deleteWebhook")
        dropped, kept = await api.push({"callback_query": {"id": "c"}}, POLL)
        assert dropped is None and kept is not None
        await api.call("getUpdates", allowed_updates=["callback_query"])
        await api.sleep(1.0)
        await api.call("setWebhook", url=HOOK)
        assert (await api.call("getWebhookInfo")).result["allowed_updates"] == ["callback_query"]

    over(scenario)
