"""§4 who gets the 409, §5 the Conflict texts and their shared throttle, §9 ghost polls."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from fake_telegram import FakeTelegram
from fake_telegram.core import envelope
from simbot.sim import run
from tests.conftest import TOKEN, Api

CONFLICT_BODY = (
    b'{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request; '
    b'make sure that only one bot instance is running"}'
)
POLL = {"poll": {"id": "p"}}


def test_s4_1_newer_waiting_poll_kicks_the_older_with_the_exact_409(over):
    async def scenario(api: Api) -> None:
        older = api.start("getUpdates", timeout=5, offset=1)
        await api.settle()
        newer = api.start("getUpdates", timeout=5, offset=2)
        kicked = await older
        assert (kicked.status, kicked.raw) == (409, CONFLICT_BODY)
        assert kicked.waited < 1.0  # the first conflict is answered at once (§4.2)
        [uid] = await api.push(POLL)  # the newer request holds the slot
        assert [u["update_id"] for u in (await newer).result] == [uid]

    fake = over(scenario)
    older, newer = fake.log.select(method="getUpdates")[:2]
    assert older.kicked_by == newer.id and newer.kicked == older.id and older.long_poll and newer.long_poll


def test_s4_2_a_second_conflict_within_3s_is_held_3s_and_the_newer_is_registered_at_once(over):
    async def scenario(api: Api) -> None:
        a = api.start("getUpdates", timeout=10, offset=1)
        await api.settle()
        b = api.start("getUpdates", timeout=10, offset=2)
        assert (await a).waited < 1.0
        c = api.start("getUpdates", timeout=10, offset=3)  # kicks b inside the window
        await api.settle()
        [uid] = await api.push(POLL)
        assert [u["update_id"] for u in (await c).result] == [uid]  # c got the slot at once
        held = await b
        assert held.status == 409 and held.waited == pytest.approx(3.0, abs=0.3)

    over(scenario)


def test_s4_2_delayed_conflicts_do_not_move_the_throttle(in_process):
    async def scenario(api: Api) -> None:
        polls = []
        for i in range(4):  # polls at 0, 0.1, 0.2, 0.3: kicks at 0.1 (immediate), 0.2 and 0.3 (held)
            polls.append(api.start("getUpdates", timeout=20, offset=i + 1))
            await api.sleep(0.1)
        await api.sleep(2.7)
        polls.append(api.start("getUpdates", timeout=20, offset=9))
        replies = [await p for p in polls[:4]]
        waits = [round(r.answered_at, 6) for r in replies]
        # held answers did not move the window: 3 s after the kick at 0.1, the next is immediate
        assert waits == [0.1, 3.2, 3.3, 3.1]

    in_process(scenario)


def test_s4_3_a_short_poll_with_another_offset_does_not_touch_the_slot(over):
    async def scenario(api: Api) -> None:
        pending = api.start("getUpdates", timeout=2, offset=1)
        await api.settle()
        short = await api.call("getUpdates", timeout=0, offset=2)
        assert short.result == [] and short.waited < 0.5
        survivor = await pending
        assert survivor.status == 200 and survivor.waited == pytest.approx(2.0, abs=0.3)

    over(scenario)


def test_s4_3_a_short_poll_with_the_same_offset_is_bumped_and_kicks(over):
    async def scenario(api: Api) -> None:
        pending = api.start("getUpdates", timeout=10, offset=1)
        await api.settle()
        short = api.start("getUpdates", timeout=0, offset=1)
        assert (await pending).status == 409
        bumped = await short
        assert bumped.result == [] and bumped.waited == pytest.approx(3.0, abs=0.3)

    over(scenario)


def test_s4_3_a_call_that_finds_updates_answers_at_once_and_leaves_the_slot():
    async def main() -> None:
        fake = FakeTelegram()
        pending = fake.receive("GET", f"/bot{TOKEN}/getUpdates?timeout=10&offset=1")
        [uid] = fake.push(TOKEN, POLL)  # wakes `pending` 1 ms from now
        quick = fake.receive("GET", f"/bot{TOKEN}/getUpdates?timeout=10&offset=2")  # inside the window
        assert quick.update_ids == (uid,) and quick.kicked is None
        reply = await pending.reply()
        assert reply.status == 200 and pending.update_ids == (uid,)  # delivered again: nothing confirmed

    run(main())


def test_s4_4_two_live_pollers_alternate_409s_about_every_retry_delay_plus_3s(in_process):
    """Two clients retrying 3 s after a 409 (leafduo/chatgpt-telegram-bot#8): ~6-7 s apart."""

    async def poller(api: Api, name: str, conflicts: list[tuple[str, float]]) -> None:
        while api.now() < 60:
            reply = await api.call("getUpdates", timeout=10, offset=1)
            if reply.status == 409:
                conflicts.append((name, reply.answered_at))
                await api.sleep(3)

    async def scenario(api: Api) -> None:
        conflicts: list[tuple[str, float]] = []
        a = asyncio.ensure_future(poller(api, "a", conflicts))
        await api.sleep(0.5)
        b = asyncio.ensure_future(poller(api, "b", conflicts))
        await asyncio.gather(a, b)
        names = [n for n, _ in conflicts]
        assert names[:6] == ["a", "b", "a", "b", "a", "b"]
        gaps = [t2 - t1 for (n1, t1), (n2, t2) in zip(conflicts, conflicts[2:], strict=False) if n1 == n2]
        assert all(5.5 <= g <= 7.5 for g in gaps[2:]), gaps

    in_process(scenario)


@pytest.mark.parametrize("description", [envelope.CONFLICT_WEBHOOK_ACTIVE, envelope.CONFLICT_SET_WEBHOOK])
def test_s5_the_throttle_is_shared_by_the_conflict_texts(in_process, description):
    async def scenario(api: Api) -> None:
        first = api.start("getUpdates", timeout=10, offset=1)
        await api.settle()
        second = api.start("getUpdates", timeout=10, offset=2)  # immediate 409 to `first`
        assert (await first).answered_at == 0
        await api.sleep(1)
        if description == envelope.CONFLICT_SET_WEBHOOK:
            await api.call("setWebhook", url="https://example.com/hook")  # kicks `second`
            victim = await second
        else:
            assert (await api.call("setWebhook", url="https://example.com/hook")).status == 200
            await api.sleep(1)
            victim = await api.call("getUpdates", timeout=10, offset=3)
            second.cancel()
        assert victim.description == description
        assert victim.answered_at == (4.0 if description == envelope.CONFLICT_SET_WEBHOOK else 5.0)  # held 3 s

    in_process(scenario)


def test_s5_the_four_conflict_texts_are_exact():
    assert envelope.CONFLICT_OTHER_GET_UPDATES == (
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    )
    assert envelope.CONFLICT_SET_WEBHOOK == "Conflict: terminated by setWebhook request"
    assert envelope.CONFLICT_WEBHOOK_ACTIVE == (
        "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
    )
    assert envelope.CONFLICT_OTHER_SET_WEBHOOK == "Conflict: terminated by other setWebhook"


def test_s9_a_poll_whose_client_timed_out_keeps_the_slot_as_a_ghost(in_process):
    async def scenario(api: Api) -> None:
        request = api.client.build_request(
            "GET", f"/bot{TOKEN}/getUpdates", params={"timeout": "30", "offset": "1"},
            extensions={"timeout": {"connect": 5, "read": 2, "write": 5, "pool": 1}},
        )  # fmt: skip
        with pytest.raises(httpx.ReadTimeout):
            await api.send(request)
        assert api.now() == 2.0
        [uid] = await api.push(POLL)  # delivered to the ghost, written to nowhere ...
        await api.sleep(0.01)
        again = await api.call("getUpdates", offset=1, timeout=5)  # ... and so not confirmed
        assert [u["update_id"] for u in again.result] == [uid]

    fake = in_process(scenario)
    ghost = fake.log[0]
    assert ghost.abandoned_at == 2.0 and ghost.answered_at == pytest.approx(2.001) and ghost.status == 200


def test_s9_a_ghost_is_kicked_silently_and_uses_up_the_throttle_window(in_process):
    async def scenario(api: Api) -> None:
        ghost = api.start("getUpdates", timeout=30, offset=1)
        await api.sleep(1)
        ghost.cancel()  # the client vanished (killed); the server keeps its poll
        await api.sleep(1)
        successor = api.start("getUpdates", timeout=30, offset=1)  # kicks the ghost: no error here
        await api.sleep(1)
        intruder = api.start("getUpdates", timeout=30, offset=1)
        victim = await successor  # a genuine conflict within 3 s of the ghost's kick: held
        assert victim.status == 409 and victim.waited == pytest.approx(4.0)  # sent at 2, kicked at 3, +3 s hold
        intruder.cancel()

    fake = in_process(scenario)
    ghost, successor, intruder = fake.log.select(method="getUpdates")
    assert ghost.abandoned_at == 1.0 and ghost.kicked_by == successor.id and ghost.status == 409
    assert ghost.answered_at == 2.0 and successor.kicked_by == intruder.id


def test_s9_a_ghost_ends_at_its_timeout_when_nobody_kicks_it(over):
    async def scenario(api: Api) -> None:
        ghost = api.start("getUpdates", timeout=1, offset=1)
        await api.settle()
        ghost.cancel()
        await api.sleep(1.5)

    fake = over(scenario)
    [ghost] = fake.log.select(method="getUpdates")
    assert ghost.abandoned_at is not None and ghost.status == 200
    assert ghost.answered_at - ghost.at == pytest.approx(1.0, abs=0.3)


def test_the_server_half_outlives_the_client_task():
    """Cancelling a waiting client never cancels the server's answer (the simulator relies on it)."""

    async def main() -> None:
        fake = FakeTelegram()
        exchange = fake.receive("GET", f"/bot{TOKEN}/getUpdates?timeout=5")
        waiter = asyncio.ensure_future(exchange.reply())
        await asyncio.sleep(1)
        waiter.cancel()
        await asyncio.sleep(5)
        assert exchange.abandoned_at == 1.0 and exchange.status == 200 and exchange.answered_at == 5.0

    run(main())
