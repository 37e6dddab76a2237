"""§12.3–12.4 (docs/telegram-rules.md): connections, and what each kind of answer means."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fake_telegram import Answer, Failure, FakeTelegram, Post
from tests.conftest import Api
from tests.fake.webhook_endpoint import HOOK, Endpoint, info, message, simulate, slow

# -- §12.3 connections -------------------------------------------------------------------


def test_s12_3_one_post_at_a_time_until_a_2xx():
    endpoint = Endpoint(slow(1, 500))

    async def scenario(api: Api) -> None:
        await api.push(*(message(chat) for chat in range(1, 9)))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(300)
        assert len(endpoint.posts) > 20 and endpoint.most_busy == 1

    simulate(scenario, endpoint)


def test_s12_3_after_a_2xx_up_to_max_connections_default_40():
    endpoint = Endpoint(slow(5))

    async def scenario(api: Api) -> None:
        await api.push(*(message(chat) for chat in range(1, 61)))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(60)
        assert endpoint.most_busy == 40 and len(endpoint.posts) == 60

    simulate(scenario, endpoint)


def test_s12_3_max_connections_caps_parallel_posts():
    endpoint = Endpoint(slow(5))

    async def scenario(api: Api) -> None:
        await api.push(*(message(chat) for chat in range(1, 11)))
        await api.call("setWebhook", url=HOOK, max_connections=3)
        await api.sleep(60)
        assert endpoint.most_busy == 3 and len(endpoint.posts) == 10

    simulate(scenario, endpoint)


def test_s12_3_active_mode_opens_ten_connections_at_once_then_twenty_a_second():
    endpoint = Endpoint(slow(30))

    async def scenario(api: Api) -> None:
        await api.call("setWebhook", url=HOOK)
        await api.push(message(99))
        await api.sleep(31)  # acked at 30: active from now on
        await api.push(*(message(chat) for chat in range(1, 31)))
        await api.sleep(2)
        starts = [t - 31 for t in endpoint.times()[1:]]
        assert starts.count(0.0) == 11  # the kept-alive connection and 10 new ones
        assert [round(t, 2) for t in starts[11:14]] == [0.05, 0.1, 0.15]

    simulate(scenario, endpoint)


def test_s12_3_no_2xx_for_10_s_means_pending_mode_again():
    def answer(post: Post) -> Any:
        ok = asyncio.get_running_loop().time() < 1
        return slow(1, 200 if ok else Answer(500, "Internal Server Error", close=True))(post)

    endpoint = Endpoint(answer)

    async def scenario(api: Api) -> None:
        await api.call("setWebhook", url=HOOK)
        await api.push(message(99))
        await api.sleep(2)  # acked at 1: active
        await api.push(*(message(chat) for chat in range(1, 9)))
        await api.sleep(0.5)
        assert endpoint.busy == 8  # active: all at once
        await api.sleep(13)  # every POST fails from now on, and closes its connection
        endpoint.most_busy = endpoint.busy
        before = len(endpoint.posts)
        await api.sleep(300)
        assert len(endpoint.posts) - before > 10 and endpoint.most_busy == 1

    simulate(scenario, endpoint)


def test_s12_3_a_kept_alive_connection_retries_at_once_a_closed_one_waits_for_the_2_s_connect_limit():
    kept = Endpoint(lambda post: Answer(500, "Internal Server Error"))
    closed = Endpoint(lambda post: Answer(500, "Internal Server Error", close=True))

    def scenario(endpoint: Endpoint) -> Callable[[Api], Any]:
        async def run(api: Api) -> None:
            await api.push(message(1))
            await api.call("setWebhook", url=HOOK)
            await api.sleep(40)

        return run

    simulate(scenario(kept), kept)
    simulate(scenario(closed), closed)
    assert kept.times()[:6] == [0.0, 0.0, 2.0, 6.0, 14.0, 30.0]
    assert {p.connection for _, p in kept.posts} == {1}
    assert closed.times()[:6] == [0.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert [p.connection for _, p in closed.posts][:3] == [1, 2, 3]


def test_s12_3_an_idle_connection_is_closed_after_60_s():
    endpoint = Endpoint()

    async def scenario(api: Api) -> None:
        await api.call("setWebhook", url=HOOK, max_connections=1)
        await api.push(message(1))
        await api.sleep(59)
        await api.push(message(1))
        await api.sleep(61)
        await api.push(message(1))
        await api.sleep(1)
        assert [p.connection for _, p in endpoint.posts] == [1, 1, 2]

    simulate(scenario, endpoint)


# -- §12.4 outcomes -----------------------------------------------------------------


def test_s12_4_any_2xx_delivers_once_and_forgets():
    statuses = iter([200, 204, 299])
    endpoint = Endpoint(lambda post: next(statuses))

    async def scenario(api: Api) -> None:
        ids = await api.push(message(1), message(1), message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(600)
        assert endpoint.ids() == ids
        assert (await info(api))["pending_update_count"] == 0 and "last_error_date" not in await info(api)

    simulate(scenario, endpoint)


def test_s12_4_a_redirect_is_a_failure_not_followed():
    endpoint = Endpoint(lambda post: Answer(302, "Found", {"location": "https://elsewhere.example/"}) if post.attempt == 1 else 200)

    async def scenario(api: Api) -> None:
        [uid] = await api.push(message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(10)
        assert endpoint.ids() == [uid, uid] and endpoint.posts[1][1].url == HOOK
        assert (await info(api))["last_error_message"] == "Wrong response from the webhook: 302 Found"

    simulate(scenario, endpoint)


def test_s12_4_no_answer_within_60_s_is_a_read_timeout():
    endpoint = Endpoint(lambda post: asyncio.sleep(3600, 200) if post.attempt == 1 else 200)

    async def scenario(api: Api) -> None:
        [uid] = await api.push(message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(59.9)
        assert (await info(api))["pending_update_count"] == 1 and "last_error_message" not in await info(api)
        await api.sleep(1)
        hook = await info(api)
        assert hook["last_error_message"] == "Read timeout expired"
        assert hook["last_error_date"] == api.unix()  # Unix seconds: 60.9 s and 60 s are the same second
        assert endpoint.cancelled[0][0] == 60.0 and endpoint.times(uid) == [0.0, 60.0]

    simulate(scenario, endpoint)


def test_s12_4_connection_errors_are_failures_and_a_clean_close_leaves_last_error_alone():
    outcomes = iter([Failure("Connection refused"), 200, ConnectionResetError(104, "x"), Failure(None), 200])

    def answer(post: Post) -> Any:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    endpoint = Endpoint(answer)

    async def scenario(api: Api) -> None:
        a, b = await api.push(message(1), message(2))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(1)
        assert endpoint.ids() == [a]
        assert (await info(api))["last_error_message"] == "Connection refused"
        await api.sleep(30)
        assert endpoint.times() == [0.0, 2.0, 2.0, 2.0, 4.0]  # refused: the next socket waits for the 2 s limit
        assert endpoint.ids() == [a, a, b, b, b]
        assert (await info(api))["last_error_message"] == "Connection reset by peer"  # the clean close set none
        assert [e.error for e in fake_of(api).log.webhook if e.event == "fail"] == [
            "Connection refused", "Connection reset by peer", "Webhook connection closed"]  # fmt: skip

    simulate(scenario, endpoint)


def fake_of(api: Api) -> FakeTelegram:
    return api.fake


def test_s12_4_a_method_in_a_2xx_answer_runs_unless_it_is_a_get_or_webhook_call():
    replies = iter([
        Answer(500, "x", {"content-type": "application/json"}, b'{"method":"sendMessage","chat_id":1,"text":"no"}'),
        Answer(200, "OK", {"content-type": "application/json"}, b'{"method":"sendMessage","chat_id":1,"text":"yes"}'),
        Answer(200, "OK", {"content-type": "application/json"}, b'{"method":"deleteWebhook"}'),
        Answer(200, "OK", {"content-type": "application/json"}, b'{"method":"getMe"}'),
        Answer(200, "OK", {"content-type": "application/x-www-form-urlencoded"}, b"method=SENDMESSAGE&chat_id=2&text=form"),
    ])  # fmt: skip
    endpoint = Endpoint(lambda post: next(replies))

    async def scenario(api: Api) -> None:
        await api.push(message(1), message(1), message(1), message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(10)
        sent = [e.params["text"] for e in api.fake.outbox()]
        assert sent == ["yes", "form"]
        assert (await info(api))["url"] == HOOK
        assert not any(e.method in ("deleteWebhook", "getMe") for e in api.fake.log)

    simulate(scenario, endpoint)
