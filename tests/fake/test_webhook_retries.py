"""§12.5–12.6 (docs/telegram-rules.md): the retry ladder, drops, and getWebhookInfo."""

from __future__ import annotations

import itertools

from fake_telegram import Answer, Post
from tests.conftest import Api
from tests.fake.webhook_endpoint import HOOK, Endpoint, callback, events, info, message, simulate, slow

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
