"""§3 getUpdates and §7 the update queue (docs/telegram-rules.md)."""

from __future__ import annotations

import asyncio

import pytest

from fake_telegram import FakeTelegram, message_update
from fake_telegram.core.updates import DEFAULT_ALLOWED, ID_LIMIT, MAX_UPDATES, UpdateQueue
from simbot.sim import run
from tests.conftest import TOKEN, Api

POLL = {"poll": {"id": "p"}}


async def pending_count(api: Api) -> int:
    return (await api.call("getWebhookInfo")).result["pending_update_count"]


def ids(reply) -> list[int]:  # type: ignore[no-untyped-def]
    return [u["update_id"] for u in reply.result]


def test_s3_1_limit_clamped_to_1_100_and_oddly_parsed(over):
    async def scenario(api: Api) -> None:
        await api.push(*[POLL] * 105)
        cases = [("", 100), ("0", 1), ("abc", 1), ("null", 1), ("500", 100), ("-3", 1), ("7", 7)]
        for i, (limit, expected) in enumerate(cases):
            # offsets -1000, -1001, …: read from the head, delete nothing, and never
            # repeat the previous raw offset (which would cut the limit, §3.2)
            reply = await api.call("getUpdates", limit=limit, offset=-1000 - i)
            assert len(reply.result) == expected, limit

    over(scenario)


def test_s3_1_timeout_clamped_to_50(in_process):
    async def scenario(api: Api) -> None:
        reply = await api.call("getUpdates", timeout=300)
        assert reply.result == [] and reply.waited == 50.0

    in_process(scenario)


def test_s3_1_negative_or_junk_timeout_is_zero(over):
    async def scenario(api: Api) -> None:
        for offset, timeout in [(1, "-5"), (2, "abc")]:  # distinct offsets: no anti-spin bump
            reply = await api.call("getUpdates", offset=offset, timeout=timeout)
            assert reply.result == [] and reply.waited < 0.5

    over(scenario)


def test_s3_3_positive_offset_confirms_below_and_returns_from_it(over):
    async def scenario(api: Api) -> None:
        first, second, third = await api.push(POLL, POLL, POLL)
        assert ids(await api.call("getUpdates", offset=second)) == [second, third]
        assert await pending_count(api) == 2
        assert ids(await api.call("getUpdates", offset=first)) == [second, third]  # first is gone

    over(scenario)


def test_s3_3_offset_zero_reads_the_head_without_confirming(over):
    async def scenario(api: Api) -> None:
        pushed = await api.push(POLL, POLL)
        for _ in range(2):  # returning never confirms: a lost response loses nothing
            assert ids(await api.call("getUpdates", offset=0)) == pushed
            assert await pending_count(api) == 2
            await api.sleep(0.6)

    over(scenario)


def test_s3_3_negative_offset_keeps_only_the_newest(over):
    async def scenario(api: Api) -> None:
        pushed = await api.push(POLL, POLL, POLL, POLL)
        assert ids(await api.call("getUpdates", offset=-10)) == pushed  # -offset ≥ size: nothing deleted
        assert ids(await api.call("getUpdates", offset=-2)) == pushed[2:]
        assert await pending_count(api) == 2

    over(scenario)


def test_s3_3_offset_out_of_range_falls_back_to_the_head_unconfirmed(over):
    async def scenario(api: Api) -> None:
        pushed = await api.push(POLL, POLL)
        tail = pushed[-1] + 1
        for offset in (tail + 11, 1, 2_000_000_000, 2**31 - 1):  # 1: more than 100000 below the head
            assert ids(await api.call("getUpdates", offset=offset)) == pushed, offset
        assert await pending_count(api) == 2
        await api.call("getUpdates", offset=tail + 10)  # the edge of the window confirms everything
        assert await pending_count(api) == 0

    over(scenario)


def test_s3_3_no_queue_yet_returns_empty(over):
    async def scenario(api: Api) -> None:
        for offset in (0, -1, 5, 10**9):
            assert (await api.call("getUpdates", offset=offset)).result == []

    over(scenario)


def test_s3_3_result_capped_at_4_mib(in_process):
    async def scenario(api: Api) -> None:
        big = {"poll": {"id": "x" * 500_000}}
        await api.push(*[big] * 10)
        first = await api.call("getUpdates")
        assert 1 < len(first.result) < 10 and len(first.raw) < 4 << 20

    in_process(scenario)


def test_s3_2_same_offset_short_poll_within_3s_is_bumped_to_timeout_3(over):
    async def scenario(api: Api) -> None:
        assert (await api.call("getUpdates", timeout=0)).waited < 0.5
        bumped = await api.call("getUpdates", timeout=0)  # same raw offset (absent = 0), at once
        assert bumped.result == [] and bumped.waited == pytest.approx(3.0, abs=0.3)
        other = await api.call("getUpdates", timeout=0, offset=5)  # different offset: not bumped
        assert other.waited < 0.5

    over(scenario)


def test_s3_2_bump_needs_less_than_3s_since_the_previous_start(in_process):
    async def scenario(api: Api) -> None:
        await api.call("getUpdates", timeout=0)
        await api.sleep(3.0)
        assert (await api.call("getUpdates", timeout=0)).waited == 0
        await api.sleep(2.9)
        assert (await api.call("getUpdates", timeout=0)).waited == 3.0

    in_process(scenario)


def test_s3_2_same_offset_within_half_a_second_cuts_limit_to_1(over):
    async def scenario(api: Api) -> None:
        await api.push(POLL, POLL, POLL)
        assert len((await api.call("getUpdates")).result) == 3
        assert len((await api.call("getUpdates")).result) == 1
        assert len((await api.call("getUpdates", offset=-3)).result) == 3  # other offset: no cut

    over(scenario)


def test_s3_4_pending_poll_answered_1ms_after_an_update(in_process):
    async def scenario(api: Api) -> None:
        poll = api.start("getUpdates", timeout=30)
        await api.sleep(5)
        [uid] = await api.push(POLL)
        reply = await poll
        assert ids(reply) == [uid] and reply.answered_at == pytest.approx(5.001, abs=1e-6)

    in_process(scenario)


def test_s3_4_batching_window_capped_at_2ms_after_the_first_update():
    async def main() -> None:
        fake = FakeTelegram()
        loop = asyncio.get_running_loop()
        poll = fake.receive("GET", f"/bot{TOKEN}/getUpdates?timeout=30")
        pushed = fake.push(TOKEN, POLL)
        await asyncio.sleep(0.0009)
        pushed += fake.push(TOKEN, POLL)
        await asyncio.sleep(0.0009)
        pushed += fake.push(TOKEN, POLL)
        await poll.reply()
        assert poll.answered_at == pytest.approx(0.002, abs=1e-6) and list(poll.update_ids) == pushed
        assert loop.time() == pytest.approx(0.002, abs=1e-6)

    run(main())


def test_s3_4_deadline_answers_empty(over):
    async def scenario(api: Api) -> None:
        reply = await api.call("getUpdates", timeout=1)
        assert reply.result == [] and reply.waited == pytest.approx(1.0, abs=0.3)

    over(scenario)


def test_s7_2_ids_start_random_in_range_then_plus_one_and_follow_the_seed():
    async def main(seed: int) -> list[int | None]:
        return FakeTelegram(seed=seed).push(TOKEN, [POLL] * 3)

    a, b, c = run(main(1)), run(main(1)), run(main(2))
    assert a == b != c
    for pushed in (a, c):
        assert 2_000_001 <= pushed[0] <= 1_000_000_000  # type: ignore[operator]
        assert pushed == [pushed[0], pushed[0] + 1, pushed[0] + 2]  # type: ignore[operator]


def test_s7_2_numbering_continues_after_everything_is_confirmed(over):
    async def scenario(api: Api) -> None:
        [first] = await api.push(POLL)
        await api.call("getUpdates", offset=first + 1)
        assert await api.push(POLL) == [first + 1]

    over(scenario)


def test_s7_2_ids_restart_randomly_before_reaching_2_billion():
    async def main() -> None:
        fake = FakeTelegram()
        queue = fake.bot(TOKEN).queue
        fake.push(TOKEN, POLL)
        queue.next_id = ID_LIMIT - 2
        last, wrapped = fake.push(TOKEN, [POLL, POLL])
        # 1,999,999,999 is never assigned: an id is used only if id + 1 is valid (TQueue.cpp:169-179)
        assert last == ID_LIMIT - 2 and wrapped is not None and wrapped < ID_LIMIT - 2
        assert queue.ids() == [wrapped]  # the queue was wiped

    run(main())


def test_s7_2_a_week_without_updates_restarts_numbering(in_process):
    async def scenario(api: Api) -> None:
        [first] = await api.push(POLL)
        await api.call("getUpdates", offset=first + 1)
        await api.sleep(6 * 86400)
        [second] = await api.push(POLL)
        assert second == first + 1
        await api.call("getUpdates", offset=second + 1)
        await api.sleep(7 * 86400 + 1)
        [third] = await api.push(POLL)
        assert third != second + 1

    in_process(scenario)


def test_s7_1_messages_expire_a_day_after_their_date(in_process):
    async def scenario(api: Api) -> None:
        stale = await api.push(message_update("old", date=api.unix() - 86401))
        assert stale == [None]  # dated more than a day ago: never queued
        [uid] = await api.push(message_update("new", date=api.unix() - 86000))
        await api.sleep(399)
        assert ids(await api.call("getUpdates")) == [uid]
        await api.sleep(1)
        assert (await api.call("getUpdates")).result == []

    in_process(scenario)


@pytest.mark.parametrize(
    ("update", "lifetime"),
    [({"callback_query": {"id": "c"}}, 150), ({"inline_query": {"id": "i"}}, 30),
     ({"chosen_inline_result": {"result_id": "r"}}, 600), ({"poll": {"id": "p"}}, 86400),
     ({"shipping_query": {"id": "s"}}, 150), ({"pre_checkout_query": {"id": "q"}}, 150),
     ({"custom_event": {"id": "e"}}, 600)],
)  # fmt: skip
def test_s7_1_per_type_lifetimes(in_process, update, lifetime):
    async def scenario(api: Api) -> None:
        [uid] = await api.push(update)
        await api.sleep(lifetime - 0.5)
        assert ids(await api.call("getUpdates", offset=-1)) == [uid]
        await api.sleep(0.5)
        assert (await api.call("getUpdates")).result == []
        assert await pending_count(api) == 0

    in_process(scenario)


def test_s7_3_oversized_updates_and_a_full_queue_are_dropped_silently():
    async def main() -> None:
        fake = FakeTelegram()
        assert fake.push(TOKEN, {"poll": {"id": "x" * (513 << 10)}}) == [None]
        queue = UpdateQueue(fake.rng)
        for _ in range(MAX_UPDATES):
            assert queue.push({"poll": {}}, "poll", 0.0) is not None
        assert queue.push({"poll": {}}, "poll", 0.0) is None

    run(main())


def test_s7_4_allowed_updates_filters_at_enqueue_and_consumes_no_id(over):
    async def scenario(api: Api) -> None:
        [early] = await api.push(message_update("before", date=api.unix()))
        await api.call("getUpdates", allowed_updates=["callback_query"], offset=-5)
        filtered, kept = await api.push(message_update("after", date=api.unix()), {"callback_query": {"id": "c"}})
        assert filtered is None and kept == early + 1  # the filtered one consumed no id
        reply = await api.call("getUpdates", offset=early)
        assert ids(reply) == [early, kept]  # queued before the change: still delivered

    over(scenario)


def test_s7_4_absent_invalid_or_non_string_keeps_the_setting_and_empty_resets(over):
    async def scenario(api: Api) -> None:
        await api.call("getUpdates", allowed_updates=["poll"], offset=1)
        for i, value in enumerate((None, "not json", '"message"', '["message", 1]', "{}")):
            params = {} if value is None else {"allowed_updates": value}
            await api.call("getUpdates", offset=10 + i, **params)
            info = (await api.call("getWebhookInfo")).result
            assert info["allowed_updates"] == ["poll"], value
        await api.call("getUpdates", allowed_updates=["Nonsense"], offset=3)  # only unknown names: default
        assert "allowed_updates" not in (await api.call("getWebhookInfo")).result
        await api.call("getUpdates", allowed_updates=["MESSAGE", "chat_member"], offset=4)
        info = (await api.call("getWebhookInfo")).result
        assert info["allowed_updates"] == ["message", "chat_member"]
        await api.call("getUpdates", allowed_updates=[], offset=5)
        assert "allowed_updates" not in (await api.call("getWebhookInfo")).result

    over(scenario)


def test_s7_4_default_set_leaves_out_chat_member_and_reactions(over):
    async def scenario(api: Api) -> None:
        dropped = await api.push(
            {"chat_member": {"date": api.unix()}},
            {"message_reaction": {"date": api.unix()}},
            {"message_reaction_count": {"date": api.unix()}},
        )
        assert dropped == [None, None, None]
        assert None not in await api.push({"my_chat_member": {"date": api.unix()}}, {"poll_answer": {}})

    over(scenario)
    assert "chat_member" not in DEFAULT_ALLOWED


def test_s3_3_updates_are_confirmed_when_the_request_arrives_even_if_it_is_later_kicked(in_process):
    async def scenario(api: Api) -> None:
        [uid] = await api.push(POLL)
        first = api.start("getUpdates", offset=uid + 1, timeout=10)
        await api.settle()
        second = await api.call("getUpdates", offset=uid + 1, timeout=1)
        assert (await first).status == 409 and second.result == []
        assert ids(await api.call("getUpdates", offset=0)) == []

    in_process(scenario)
