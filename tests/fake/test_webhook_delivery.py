"""§12.1–12.2 (docs/telegram-rules.md): what one POST carries, and the order of the queues."""

from __future__ import annotations

import base64

from tests.conftest import Api
from tests.fake.webhook_endpoint import HOOK, Endpoint, callback, info, message, simulate, slow

# -- §12.1 the request ------------------------------------------------------------------


def test_s12_1_one_update_per_post_with_the_servers_headers_and_body():
    endpoint = Endpoint()

    async def scenario(api: Api) -> None:
        await api.push(message(1), message(2))
        raw = (await api.call("getUpdates")).raw  # the same bytes getUpdates gives, one update each
        await api.call("setWebhook", url="https://user:pw@example.com:8443/hook?x=1", secret_token="s3cr-t_")
        await api.sleep(5)
        first, second = (p for _, p in endpoint.posts)
        assert (first.target, first.url) == ("/hook?x=1", "https://user:pw@example.com:8443/hook?x=1")
        assert first.headers == (
            ("Host", "example.com:8443"), ("Authorization", "Basic " + base64.b64encode(b"user:pw").decode()),
            ("X-Telegram-Bot-Api-Secret-Token", "s3cr-t_"), ("Content-Type", "application/json"),
            ("Content-Length", str(len(first.body))), ("Connection", "keep-alive"), ("Accept-Encoding", "gzip, deflate"),
        )  # fmt: skip
        assert raw == b'{"ok":true,"result":[' + first.body + b"," + second.body + b"]}"
        assert first.body.startswith(b'{"update_id":%d,\n"message":' % first.update_id)

    simulate(scenario, endpoint)


def test_s12_1_no_secret_header_without_a_secret_and_no_default_port_in_host():
    endpoint = Endpoint()

    async def scenario(api: Api) -> None:
        await api.push(message(1))
        await api.call("setWebhook", url="https://example.com:443/")
        await api.sleep(1)
        [(_, post)] = endpoint.posts
        assert [name for name, _ in post.headers] == [
            "Host", "Content-Type", "Content-Length", "Connection", "Accept-Encoding"]  # fmt: skip
        assert post.headers[0] == ("Host", "example.com") and post.target == "/"

    simulate(scenario, endpoint)


def test_s12_1_webhook_was_set_without_contacting_the_endpoint():
    endpoint = Endpoint()

    async def scenario(api: Api) -> None:
        reply = await api.call("setWebhook", url=HOOK)
        assert reply.description == "Webhook was set"
        await api.sleep(600)
        assert endpoint.posts == []  # nothing queued: nothing sent, no probe
        await api.push(message(1))
        await api.sleep(1)
        assert len(endpoint.posts) == 1

    simulate(scenario, endpoint)


# -- §12.2 queues and order ------------------------------------------------------------


def test_s12_2_one_chat_is_sequential_other_chats_go_in_parallel():
    endpoint = Endpoint(slow(5))

    async def scenario(api: Api) -> None:
        await api.call("setWebhook", url=HOOK)
        await api.push(message(99))  # one 2xx makes the webhook active (several connections)
        await api.sleep(10)
        a1, a2, b1 = await api.push(message(1), message(1), message(2))
        await api.sleep(30)
        assert endpoint.times(a1) == [10.0] and endpoint.times(b1) == [10.0]  # two chats at once
        assert endpoint.times(a2) == [15.0]  # chat 1's second message waits for the first's 2xx

    simulate(scenario, endpoint)


def test_s12_2_a_failing_update_blocks_its_chat_only():
    endpoint = Endpoint(lambda post: 500 if post.update_id == blocked[0] else 200)
    blocked: list[int] = []

    async def scenario(api: Api) -> None:
        blocked[:] = await api.push(message(1))
        a2, b1 = await api.push(message(1), message(2))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(3600)
        assert endpoint.times(a2) == [] and len(endpoint.times(b1)) == 1
        assert len(endpoint.times(blocked[0])) > 10

    simulate(scenario, endpoint)


def test_s12_2_a_users_callback_query_is_not_queued_behind_their_private_chat():
    """In a private chat the chat id is the user id: the callback's queue is offset (user + 3<<33)."""
    endpoint = Endpoint(lambda post: 200 if b"callback_query" in post.body else 500)

    async def scenario(api: Api) -> None:
        stuck, query = await api.push(message(7, user=7), callback(7))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(20)
        assert len(endpoint.times(query)) == 1 and len(endpoint.times(stuck)) > 1

    simulate(scenario, endpoint)


def test_s12_2_ready_queues_go_by_wakeup_then_queue_key_not_update_id():
    endpoint = Endpoint()

    async def scenario(api: Api) -> None:
        c30, c10, c20 = await api.push(message(30), message(10), message(20))
        await api.call("setWebhook", url=HOOK, max_connections=1)
        await api.sleep(5)
        assert endpoint.ids() == [c10, c20, c30]

    simulate(scenario, endpoint)


def test_s12_2_at_most_twice_max_connections_queues_are_loaded():
    endpoint = Endpoint(lambda post: 500)

    async def scenario(api: Api) -> None:
        ids = await api.push(*(message(chat) for chat in range(1, 6)))
        await api.call("setWebhook", url=HOOK, max_connections=1)
        await api.sleep(600)
        assert set(endpoint.ids()) == set(ids[:2])  # chats 3-5 wait in the queue while 1 and 2 fail
        assert (await info(api))["pending_update_count"] == 5

    simulate(scenario, endpoint)


def test_s12_2_an_emptied_queue_makes_room_for_the_next_update():
    endpoint = Endpoint(slow(1))

    async def scenario(api: Api) -> None:
        ids = await api.push(*(message(chat) for chat in range(1, 6)))
        await api.call("setWebhook", url=HOOK, max_connections=1)
        await api.sleep(0.5)
        ids += await api.push(message(6))  # arrives while two queues are loaded: it waits its turn
        await api.sleep(60)
        assert endpoint.ids() == ids

    simulate(scenario, endpoint)
