"""§12.7–12.9 (docs/telegram-rules.md): changing the webhook, and the delivery events."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

from fake_telegram import Answer, Post
from tests.conftest import Api, run_in_process
from tests.fake.webhook_endpoint import HOOK, Endpoint, callback, events, info, message, simulate, slow

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
