"""§12 webhook delivery (docs/telegram-rules.md): the engine behind setWebhook, on virtual time.

The webhook here is a scripted endpoint handed to the fake as its deliver seam: it
records each POST with the virtual time it arrived and answers what the test says.
It stands in for the bot, not for the thing under test (the fake's delivery engine).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import random
from collections.abc import Callable
from typing import Any

from fake_telegram import Answer, Failure, FakeTelegram, Post
from tests.conftest import Api, run_in_process

HOOK = "https://example.com/hook"


def message(chat: int, text: str = "hi", user: int | None = None) -> dict[str, Any]:
    sender = {"id": user if user is not None else chat, "is_bot": False, "first_name": "U"}
    return {"message": {"message_id": 1, "chat": {"id": chat, "type": "private"}, "from": sender, "text": text}}


def callback(user: int) -> dict[str, Any]:
    return {"callback_query": {"id": "c1", "from": {"id": user, "is_bot": False, "first_name": "U"}, "chat_instance": "1"}}


class Endpoint:
    """A scripted webhook: ``answer(post)`` gives the outcome (or a coroutine giving it)."""

    def __init__(self, answer: Callable[[Post], Any] = lambda post: 200):
        self.answer = answer
        self.posts: list[tuple[float, Post]] = []
        self.finished: list[tuple[float, Post]] = []
        self.cancelled: list[tuple[float, Post]] = []
        self.busy = 0
        self.most_busy = 0

    async def __call__(self, post: Post) -> Any:
        loop = asyncio.get_running_loop()
        self.posts.append((loop.time(), post))
        self.busy += 1
        self.most_busy = max(self.most_busy, self.busy)
        try:
            outcome = self.answer(post)
            if asyncio.iscoroutine(outcome):
                outcome = await outcome
            self.finished.append((loop.time(), post))
            return outcome
        except asyncio.CancelledError:
            self.cancelled.append((loop.time(), post))
            raise
        finally:
            self.busy -= 1

    def times(self, update_id: int | None = None) -> list[float]:
        return [round(t, 6) for t, p in self.posts if update_id is None or p.update_id == update_id]

    def ids(self) -> list[int]:
        return [p.update_id for _, p in self.posts]


def slow(seconds: float, outcome: Any = 200) -> Callable[[Post], Any]:
    async def answer(post: Post) -> Any:
        await asyncio.sleep(seconds)
        return outcome

    return answer


def events(fake: FakeTelegram, kind: str | None = None) -> list[tuple[str, int | None]]:
    return [(e.event, e.update_id) for e in fake.log.webhook if kind is None or e.event == kind]


def simulate(scenario: Callable[[Api], Any], endpoint: Endpoint, **kwargs: Any) -> FakeTelegram:
    return run_in_process(scenario, deliver=endpoint, **kwargs)


async def info(api: Api) -> dict[str, Any]:
    return (await api.call("getWebhookInfo")).result


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


# -- §12.5 retries and drops ------------------------------------------------------------


def test_s12_5_retry_ladder_then_a_seeded_cap_of_60_to_120_s():
    def run_with(seed: int) -> list[float]:
        endpoint = Endpoint(lambda post: 500)

        async def scenario(api: Api) -> None:
            await api.push(message(1))
            await api.call("setWebhook", url=HOOK)
            await api.sleep(2000)

        simulate(scenario, endpoint, seed=seed)
        return endpoint.times()

    times = run_with(1)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[:6] == [0.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert 60 <= gaps[6] <= 64 and all(60 <= g <= 120 for g in gaps[7:]) and len(set(gaps[7:])) > 3
    assert run_with(1) == times and run_with(2) != times  # seeded: repeatable, and the seed matters


def test_s12_5_retry_after_is_obeyed_clamped_and_does_not_grow_the_backoff():
    plan = iter(["7", "7", None, None, "99999", None])

    def answer(post: Post) -> Answer:
        after = next(plan, None)
        return Answer(503, "Service Unavailable", {"retry-after": after} if after else {})

    endpoint = Endpoint(answer)

    async def scenario(api: Api) -> None:
        await api.push(message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(4000)

    simulate(scenario, endpoint)
    assert endpoint.times()[:6] == [0.0, 7.0, 14.0, 16.0, 20.0, 3620.0]


def test_s12_5_an_update_that_would_expire_before_its_next_attempt_is_dropped():
    endpoint = Endpoint(lambda post: 500)

    async def scenario(api: Api) -> None:
        query, chat = await api.push(callback(5), message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(3600)
        times = endpoint.times(query)
        assert times[:7] == [0.0, 0.0, 2.0, 6.0, 14.0, 30.0, 62.0] and len(times) == 8  # ~124 s: the last
        assert ("drop", query) in events(api.fake) and ("drop", chat) not in events(api.fake)
        assert (await info(api))["pending_update_count"] == 1

    simulate(scenario, endpoint)


def test_s12_5_410_for_23_hours_closes_the_webhook():
    endpoint = Endpoint(lambda post: Answer(410, "Gone"))

    async def scenario(api: Api) -> None:
        [uid] = await api.push(message(1, "x"))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(23 * 3600 - 200)
        assert (await info(api))["url"] == HOOK
        await api.sleep(400)
        hook = await info(api)
        assert hook["url"] == "" and "last_error_message" not in hook and hook["pending_update_count"] == 1
        assert events(api.fake, "close") == [("close", None)]
        assert [u["update_id"] for u in (await api.call("getUpdates")).result] == [uid]

    simulate(scenario, endpoint)


def test_s12_5_any_other_answer_restarts_the_410_clock():
    endpoint = Endpoint(lambda post: Answer(500, "x") if post.attempt == 300 else Answer(410, "Gone"))

    async def scenario(api: Api) -> None:
        await api.push(message(1, "x"))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(23 * 3600 + 600)
        assert (await info(api))["url"] == HOOK

    simulate(scenario, endpoint)


# -- §12.6 getWebhookInfo ------------------------------------------------------------------


def test_s12_6_pending_update_count_includes_in_flight_and_waiting_updates():
    endpoint = Endpoint(slow(10))

    async def scenario(api: Api) -> None:
        await api.push(message(1), message(1), message(2))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(5)
        assert len(endpoint.posts) == 1 and (await info(api))["pending_update_count"] == 3
        await api.sleep(30)
        assert (await info(api))["pending_update_count"] == 0

    simulate(scenario, endpoint)


def test_s12_6_last_error_is_sticky_until_the_webhook_is_set_again():
    endpoint = Endpoint(lambda post: Answer(502, "Bad Gateway") if post.attempt == 1 else 200)

    async def scenario(api: Api) -> None:
        await api.push(message(1))
        await api.call("setWebhook", url=HOOK)
        failed_at = api.unix()
        await api.sleep(100)
        hook = await info(api)
        assert hook["pending_update_count"] == 0  # delivered since
        assert (hook["last_error_date"], hook["last_error_message"]) == (failed_at, "Wrong response from the webhook: 502 Bad Gateway")
        assert list(hook)[:5] == ["url", "has_custom_certificate", "pending_update_count", "last_error_date", "last_error_message"]
        await api.call("setWebhook", url=HOOK)  # a no-op keeps it
        assert "last_error_message" in await info(api)
        await api.sleep(1)
        await api.call("setWebhook", url=HOOK, secret_token="new")
        assert "last_error_message" not in await info(api)

    simulate(scenario, endpoint)


# -- §12.7 changing the webhook ------------------------------------------------------------


def test_s12_7_a_new_secret_cuts_in_flight_posts_and_resends_them_with_the_new_secret():
    endpoint = Endpoint(lambda post: slow(30)(post) if post.attempt == 1 else 200)

    async def scenario(api: Api) -> None:
        [uid] = await api.push(message(1))
        await api.call("setWebhook", url=HOOK, secret_token="old")
        await api.sleep(5)
        assert (await api.call("setWebhook", url=HOOK, secret_token="new")).description == "Webhook was set"
        await api.sleep(60)
        (t1, first), (t2, again) = endpoint.posts
        assert (t1, t2, first.update_id, again.update_id) == (0.0, 5.0, uid, uid)
        assert dict(first.headers)["X-Telegram-Bot-Api-Secret-Token"] == "old"
        assert dict(again.headers)["X-Telegram-Bot-Api-Secret-Token"] == "new"
        assert endpoint.cancelled == [(5.0, first)]  # the old POST was cut, its late answer never counted
        assert events(api.fake) == [("deliver", uid), ("abort", uid), ("deliver", uid), ("ack", uid)]
        assert again.attempt == 1  # a fresh delivery: attempts and backoff start over

    simulate(scenario, endpoint)


def test_s12_7_a_new_url_resends_from_the_queue_head_in_pending_mode_with_fresh_backoff():
    endpoint = Endpoint(lambda post: 500 if post.url == HOOK else 200)

    async def scenario(api: Api) -> None:
        ids = await api.push(message(1), message(2), message(3))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(100)  # the first webhook fails: backoff has grown
        endpoint.posts.clear()
        endpoint.most_busy = 0
        await api.call("setWebhook", url=HOOK + "2")
        await api.sleep(1)
        assert endpoint.ids() == ids and endpoint.times() == [100.0] * 3  # first at once, then active mode
        assert {p.url for _, p in endpoint.posts} == {HOOK + "2"}

    simulate(scenario, endpoint)


def test_s12_7_drop_pending_updates_deletes_in_flight_and_queued_updates():
    endpoint = Endpoint(slow(30))

    async def scenario(api: Api) -> None:
        await api.push(message(1), message(2))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(5)
        await api.call("setWebhook", url=HOOK, drop_pending_updates=True)
        await api.sleep(100)
        assert len(endpoint.posts) == 1 and (await info(api))["pending_update_count"] == 0

    simulate(scenario, endpoint)


def test_s12_7_an_answer_that_comes_after_the_cut_is_ignored():
    async def stubborn(post: Post) -> int:
        with contextlib.suppress(asyncio.CancelledError):  # a transport that had the answer hands it back anyway
            await asyncio.sleep(30)
        return 200

    endpoint = Endpoint(stubborn)

    async def scenario(api: Api) -> None:
        [uid] = await api.push(message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(5)
        await api.call("deleteWebhook")
        await api.sleep(60)
        assert (await info(api))["pending_update_count"] == 1
        assert events(api.fake) == [("deliver", uid), ("abort", uid)]

    simulate(scenario, endpoint)


def test_s12_7_a_no_op_set_webhook_leaves_delivery_alone():
    endpoint = Endpoint(slow(30))

    async def scenario(api: Api) -> None:
        [uid] = await api.push(message(1))
        await api.call("setWebhook", url=HOOK, max_connections=40)
        await api.sleep(5)
        assert (await api.call("setWebhook", url=HOOK)).description == "Webhook is already set"
        await api.sleep(60)
        assert events(api.fake) == [("deliver", uid), ("ack", uid)]

    simulate(scenario, endpoint)


def test_s12_7_s12_8_delete_webhook_aborts_and_get_updates_returns_the_aborted_update_first():
    endpoint = Endpoint(slow(30))

    async def scenario(api: Api) -> None:
        a, b = await api.push(message(1), message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(5)
        c, = await api.push(message(2))
        assert (await api.call("deleteWebhook")).description == "Webhook was deleted"
        await api.sleep(60)
        assert endpoint.ids() == [a] and events(api.fake, "abort") == [("abort", a)]
        assert [u["update_id"] for u in (await api.call("getUpdates")).result] == [a, b, c]

    simulate(scenario, endpoint)


def test_s12_7_log_out_and_close_stop_delivery_and_a_new_instance_restarts_it():
    endpoint = Endpoint(slow(30))

    async def scenario(api: Api) -> None:
        await api.push(message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(600)  # close needs an instance 10 minutes old
        await api.push(message(1))
        await api.sleep(5)
        assert (await api.call("close")).status == 200
        await api.sleep(100)
        assert len(endpoint.posts) == 2 and events(api.fake)[-1][0] == "abort"
        await api.call("getMe")  # a request starts a new instance: delivery starts again
        await api.sleep(100)
        assert len(endpoint.posts) == 3 and events(api.fake)[-1][0] == "ack"
        await api.push(message(1))
        await api.sleep(1)
        await api.call("logOut")
        await api.sleep(100)
        assert len(endpoint.posts) == 4 and events(api.fake)[-1][0] == "abort"

    simulate(scenario, endpoint)


# -- §12.9 events --------------------------------------------------------------------------


def test_s12_9_events_name_update_attempt_connection_and_who_answered():
    answers = iter([Answer(500, "Internal Server Error", instance="old"), Answer(200, instance="new")])
    endpoint = Endpoint(lambda post: next(answers))

    async def scenario(api: Api) -> None:
        [uid] = await api.push(message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(5)
        rows = [(e.event, e.update_id, e.attempt, e.connection, e.instance, e.status, e.error, e.retry_in)
                for e in api.fake.log.webhook]  # fmt: skip
        assert rows == [
            ("deliver", uid, 1, 1, None, None, None, None),
            ("fail", uid, 1, 1, "old", 500, "Wrong response from the webhook: 500 Internal Server Error", 0.0),
            ("deliver", uid, 2, 1, None, None, None, None),
            ("ack", uid, 2, 1, "new", 200, None, None),
        ]
        assert [e.method for e in api.fake.log] == ["setWebhook"]  # the request log: only requests received

    simulate(scenario, endpoint)


def test_s12_9_without_a_deliver_seam_nothing_is_sent_and_nothing_is_logged():
    async def scenario(api: Api) -> None:
        await api.push(message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(100)
        assert (await info(api))["pending_update_count"] == 1

    fake = run_in_process(scenario)
    assert list(fake.log.webhook) == []


def test_s12_9_a_seam_given_later_starts_delivery():
    endpoint = Endpoint()

    async def scenario(api: Api) -> None:
        await api.push(message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(10)
        api.fake.deliver = endpoint
        await api.sleep(1)
        assert len(endpoint.posts) == 1 and (await info(api))["pending_update_count"] == 0

    run_in_process(scenario)


def test_s12_9_same_seed_same_events_in_another_run():
    def run_once() -> list[tuple[Any, ...]]:
        rng = random.Random(3)
        endpoint = Endpoint(lambda post: slow(rng.choice([0.5, 70]), rng.choice([200, 500, 502]))(post))

        async def scenario(api: Api) -> None:
            await api.push(*(message(c % 4) for c in range(12)), callback(9))
            await api.call("setWebhook", url=HOOK, max_connections=2)
            await api.sleep(3000)

        fake = simulate(scenario, endpoint, seed=11)
        return [tuple(e.to_json().values()) for e in fake.log.webhook]

    first = run_once()
    assert len(first) > 30 and run_once() == first



def test_s12_9_a_trace_shows_webhook_steps_after_the_requests_of_their_instant():
    from simbot.sim.trace import Trace

    endpoint = Endpoint(lambda post: Answer(200, instance="new"))

    async def scenario(api: Api) -> None:
        await api.push(message(1))
        await api.call("setWebhook", url=HOOK)
        await api.sleep(1)

    fake = simulate(scenario, endpoint)
    records = list(Trace.build([], fake.log, horizon=10))
    assert [r["kind"] for r in records] == ["request", "webhook", "webhook"]
    assert [(r["event"], r["instance"]) for r in records[1:]] == [("deliver", None), ("ack", "new")]
    assert all("token" not in r for r in records[1:])
