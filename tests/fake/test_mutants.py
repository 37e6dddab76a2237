"""Tests that kill mutants the rest of tests/fake let survive.

A mutation run removed one rule of docs/telegram-rules.md at a time from
fake_telegram/core/*.py; each test here fails on the mutant it names and passes on
the real core. Tests are named after the § they prove.
"""

from __future__ import annotations

import random
import zlib

import pytest

from fake_telegram import FakeTelegram
from fake_telegram.core.updates import ID_LIMIT, MAX_TOTAL_BYTES, MAX_UPDATE_BYTES, UpdateQueue
from simbot.sim import run
from tests.conftest import OTHER_TOKEN, TOKEN, Api

HOOK = "https://example.com/hook"
POLL = {"poll": {"id": "p"}}
NOT_FOUND = {"ok": False, "error_code": 404, "description": "Not Found"}
UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}


def ids(reply) -> list[int]:  # type: ignore[no-untyped-def]
    return [u["update_id"] for u in reply.result]


class EdgeRandom(random.Random):
    """A PRNG whose ``randint`` always returns one end of the range it is given."""

    def __init__(self, high: bool):
        super().__init__(0)
        self.high = high

    def randint(self, a: int, b: int) -> int:
        return b if self.high else a


def multipart(boundary: str, *fields: tuple[str, str]) -> bytes:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


# -- §1 requests ------------------------------------------------------------------


def test_s1_3_url_wins_over_a_json_body_and_the_first_json_key_wins(over):
    """Kills W10: JSON body keys overwrite (wire.py _add_json: setdefault -> assignment)."""

    async def scenario(api: Api) -> None:
        body = b'{"chat_id": 3, "text": "first", "text": "second"}'
        request = api.client.build_request(
            "POST", f"/bot{TOKEN}/sendMessage?chat_id=1", content=body, headers={"content-type": "application/json"}
        )
        message = (await api.send(request)).result
        assert (message["chat"]["id"], message["text"]) == (1, "first")

    over(scenario)


def test_s1_3_url_wins_over_multipart_fields_and_the_first_field_wins(over):
    """Kills W11: multipart fields overwrite (wire.py _add_multipart: setdefault -> assignment)."""

    async def scenario(api: Api) -> None:
        body = multipart("b0undary", ("chat_id", "3"), ("text", "first"), ("text", "second"))
        request = api.client.build_request(
            "POST", f"/bot{TOKEN}/sendMessage?chat_id=1", content=body,
            headers={"content-type": "multipart/form-data; boundary=b0undary"},
        )  # fmt: skip
        message = (await api.send(request)).result
        assert (message["chat"]["id"], message["text"]) == (1, "first")

    over(scenario)


def test_s1_3_deflate_bodies_are_decoded(over):
    """Kills W19b: Content-Encoding deflate no longer decoded (answered 415)."""

    async def scenario(api: Api) -> None:
        request = api.client.build_request(
            "POST", f"/bot{TOKEN}/sendMessage", content=zlib.compress(b"chat_id=9&text=z"),
            headers={"content-type": "application/x-www-form-urlencoded", "content-encoding": "deflate"},
        )  # fmt: skip
        reply = await api.send(request)
        assert reply.status == 200 and reply.result["chat"]["id"] == 9

    over(scenario)


# -- §2 responses -----------------------------------------------------------------


def test_s2_1_every_answer_says_connection_keep_alive(over):
    """Kills E7: the Connection: keep-alive header dropped from JSON answers."""

    async def scenario(api: Api) -> None:
        for reply in (await api.call("getMe"), await api.call("sendMessage"), await api.call("getUpdatez")):
            assert reply.headers["connection"] == "keep-alive", reply.body

    over(scenario)


# -- §3 getUpdates ----------------------------------------------------------------


def test_s3_1_negative_timeout_is_a_short_poll_that_leaves_the_slot_alone(in_process):
    """Kills G5: timeout not clamped up to 0, so timeout=-5 takes the slot and kicks the pending poll."""

    async def scenario(api: Api) -> None:
        pending = api.start("getUpdates", offset=1, timeout=10)
        await api.settle()
        short = await api.call("getUpdates", offset=2, timeout=-5)
        assert short.result == [] and short.waited == 0
        survivor = await pending
        assert survivor.status == 200 and survivor.waited == 10

    fake = in_process(scenario)
    assert fake.log[1].long_poll is False


def test_s3_2_timeouts_below_3_are_bumped_and_longer_ones_kept(in_process):
    """Kills G7 (the timeout < 3 condition dropped) and G7b (only timeout 0 bumped)."""

    async def scenario(api: Api) -> None:
        assert (await api.call("getUpdates", timeout=0)).waited == 0  # t=0
        assert (await api.call("getUpdates", timeout=5)).waited == 5  # same offset at once: 5 ≥ 3, kept
        assert (await api.call("getUpdates", timeout=2)).waited == 2  # 5 s after the previous start
        assert (await api.call("getUpdates", timeout=1)).waited == 3  # 2 s after: 1 < 3, bumped

    in_process(scenario)


def test_s3_2_the_previous_offset_is_always_the_latest_calls(in_process):
    """Kills G10c: the previous-call offset is recorded once and never overwritten."""

    async def scenario(api: Api) -> None:
        assert (await api.call("getUpdates", offset=5)).waited == 0
        assert (await api.call("getUpdates", offset=6)).waited == 0  # another offset: no bump
        assert (await api.call("getUpdates", offset=6)).waited == 3  # the latest call's offset: bumped

    in_process(scenario)


def test_s3_2_limit_cut_needs_less_than_half_a_second(in_process):
    """Kills G9a: the limit cut also applied at exactly 0.5 s (< became <=)."""

    async def scenario(api: Api) -> None:
        await api.push(POLL, POLL, POLL)
        assert len((await api.call("getUpdates")).result) == 3
        await api.sleep(0.5)
        assert len((await api.call("getUpdates")).result) == 3

    in_process(scenario)


def test_s3_3_offset_of_2_billion_reads_from_the_head_even_next_to_the_tail(in_process):
    """Kills G13: the ">= 2,000,000,000 is out of range" rule dropped from the offset window."""

    async def scenario(api: Api) -> None:
        api.fake.bot(TOKEN).queue.next_id = ID_LIMIT - 3
        pushed = await api.push(POLL, POLL)
        assert pushed == [ID_LIMIT - 3, ID_LIMIT - 2]  # the tail is now 1,999,999,999: offset 2e9 is tail + 1
        assert ids(await api.call("getUpdates", offset=ID_LIMIT)) == pushed  # from the head ...
        assert ids(await api.call("getUpdates", offset=0)) == pushed  # ... and nothing confirmed

    in_process(scenario)


def test_s3_4_a_poll_with_a_far_future_offset_is_woken_with_updates_from_the_head(in_process):
    """Kills G19: the slot keeps the raw out-of-range offset instead of the head, so it gets []."""

    async def scenario(api: Api) -> None:
        [first] = await api.push(POLL)
        await api.call("getUpdates", offset=first + 1)  # confirms it; the tail is first + 1
        poll = api.start("getUpdates", offset=first + 1000, timeout=10)  # far out of range, even later
        await api.settle()
        [new] = await api.push(POLL)
        reply = await poll
        assert ids(reply) == [new] and reply.waited == pytest.approx(0.001, abs=1e-6)

    in_process(scenario)


def test_s3_4_a_woken_poll_reads_with_its_own_offset(in_process):
    """Kills B12: the woken poll reads from the head instead of from its offset."""

    async def scenario(api: Api) -> None:
        [first] = await api.push(POLL)
        poll = api.start("getUpdates", offset=first + 5, timeout=10)  # in range: ≤ tail + 10
        await api.settle()
        await api.push(POLL, POLL)  # first + 1 and first + 2: below the poll's offset
        reply = await poll
        assert reply.result == [] and reply.waited == pytest.approx(0.001, abs=1e-6)

    in_process(scenario)


def test_s3_4_a_woken_poll_reads_with_its_own_limit(in_process):
    """Kills B12b: the woken poll reads with limit 100 instead of its own."""

    async def scenario(api: Api) -> None:
        poll = api.start("getUpdates", limit=1, timeout=10)
        await api.settle()
        pushed = await api.push(POLL, POLL, POLL)
        assert ids(await poll) == pushed[:1]

    in_process(scenario)


def test_s3_4_the_2ms_window_starts_afresh_for_every_poll(in_process):
    """Kills B9: the first-update time is never reset, so a later poll is answered with no 1 ms wait."""

    async def scenario(api: Api) -> None:
        first = api.start("getUpdates", timeout=30)
        await api.sleep(5)
        [a] = await api.push(POLL)
        assert (await first).answered_at == pytest.approx(5.001, abs=1e-6)
        second = api.start("getUpdates", offset=a + 1, timeout=30)
        await api.sleep(5)
        pushed_at = api.now()
        [b] = await api.push(POLL)
        reply = await second
        assert ids(reply) == [b] and reply.answered_at == pytest.approx(pushed_at + 0.001, abs=1e-6)

    in_process(scenario)


# -- §4, §5 conflicts -------------------------------------------------------------


def test_s4_2_a_restarted_bot_instance_answers_its_first_conflict_at_once(in_process):
    """Kills B3b: the conflict throttle survives close, so the new instance's first 409 is held."""

    async def scenario(api: Api) -> None:
        await api.call("getMe")  # the bot instance starts at 0
        await api.sleep(600)
        older = api.start("getUpdates", offset=1, timeout=10)
        await api.settle()
        newer = api.start("getUpdates", offset=2, timeout=10)
        assert (await older).waited == 0  # immediate: the window is open until 603
        assert (await api.call("close")).result is True
        assert (await newer).status == 200  # answered normally by close
        await api.sleep(0.1)
        restarted = api.start("getUpdates", offset=3, timeout=10)  # re-creates the instance
        await api.settle()
        intruder = api.start("getUpdates", offset=4, timeout=10)
        kicked = await restarted
        assert kicked.status == 409 and kicked.waited == 0  # a new instance: the first conflict is immediate
        intruder.cancel()

    in_process(scenario)


@pytest.mark.parametrize("text", [2, 3])
def test_s4_2_s5_conflict_texts_2_and_3_also_open_the_throttle_window(in_process, text):
    """Kills B6c: an immediate 409 with text 2 or 3 does not move the throttle window."""

    async def scenario(api: Api) -> None:
        if text == 2:
            poll = api.start("getUpdates", offset=1, timeout=10)
            await api.settle()
            await api.call("setWebhook", url=HOOK)
            opener = await poll
        else:
            await api.call("setWebhook", url=HOOK)
            opener = await api.call("getUpdates", offset=1)
        assert opener.status == 409 and opener.answered_at == 0  # immediate: opens the window until 3
        await api.call("deleteWebhook")
        older = api.start("getUpdates", offset=2, timeout=10)
        await api.settle()
        newer = api.start("getUpdates", offset=3, timeout=10)
        kicked = await older
        assert kicked.status == 409 and kicked.answered_at == 3.0  # held for 3 s
        newer.cancel()

    in_process(scenario)


# -- §6 webhooks ------------------------------------------------------------------


def test_s6_2_a_certificate_upload_is_never_a_no_change_call(in_process):
    """Kills H3c (the certificate ignored by the no-change shortcut) and H10e (has_custom_certificate always false)."""

    async def scenario(api: Api) -> None:
        for _ in range(2):
            request = api.client.build_request(
                "POST", f"/bot{TOKEN}/setWebhook", data={"url": HOOK},
                files={"certificate": ("cert.pem", b"-----BEGIN CERTIFICATE-----\n")},
            )  # fmt: skip
            reply = await api.send(request)
            assert reply.description == "Webhook was set"
            assert (await api.call("getWebhookInfo")).result["has_custom_certificate"] is True
            await api.sleep(1.0)

    in_process(scenario)


def test_s6_2_max_connections_is_clamped_up_to_1(over):
    """Kills H10b: max_connections not clamped from below (0 is kept)."""

    async def scenario(api: Api) -> None:
        await api.call("setWebhook", url=HOOK, max_connections=0)
        assert (await api.call("getWebhookInfo")).result["max_connections"] == 1

    over(scenario)


def test_s6_2_a_secret_token_of_exactly_256_characters_is_accepted(over):
    """Kills H9b: the secret-token length limit made exclusive (>= 256 rejected)."""

    async def scenario(api: Api) -> None:
        assert (await api.call("setWebhook", url=HOOK, secret_token="a" * 256)).description == "Webhook was set"

    over(scenario)


# -- §7 the update queue ----------------------------------------------------------


def test_s7_1_edited_messages_expire_a_day_after_their_edit_date(in_process):
    """Kills U7: edit_date ignored, so a message edited just now but sent two days ago is dropped."""

    async def scenario(api: Api) -> None:
        now = api.unix()
        chat = {"id": 1000, "first_name": "User", "type": "private"}
        edited = {"message_id": 1, "chat": chat, "date": now - 2 * 86400, "edit_date": now - 86000, "text": "x"}
        [uid] = await api.push({"edited_message": edited})
        assert uid is not None
        await api.sleep(399)
        assert ids(await api.call("getUpdates")) == [uid]
        await api.sleep(1)
        assert (await api.call("getUpdates")).result == []

    in_process(scenario)


# U12 (pre_checkout_query), U12b (custom_event): killed by the per-type cases in test_get_updates.py


@pytest.mark.parametrize("kind", ["my_chat_member", "chat_join_request"])
def test_s7_1_dated_member_updates_are_skipped_when_already_a_day_old(in_process, kind):
    """Kills U13: my_chat_member not treated as dated, so a stale one is still queued."""

    async def scenario(api: Api) -> None:
        assert await api.push({kind: {"date": api.unix() - 86401}}) == [None]
        assert None not in await api.push({kind: {"date": api.unix() - 86000}})

    in_process(scenario)


def test_s7_2_the_first_id_is_drawn_from_2000001_to_1000000000():
    """Kills U1 (lower bound 1) and U1b (upper bound 1,999,000,000): the draw's exact range."""

    async def main(high: bool) -> list[int | None]:
        return FakeTelegram(seed=EdgeRandom(high)).push(TOKEN, [POLL, POLL])

    assert run(main(False)) == [2_000_001, 2_000_002]
    assert run(main(True)) == [1_000_000_000, 1_000_000_001]


def test_s7_3_the_queue_holds_at_most_128_mib():
    """Kills U16: the 128 MiB total limit dropped."""
    assert MAX_TOTAL_BYTES == 128 << 20
    queue = UpdateQueue(random.Random(0))
    tail_len = len('"poll":{"id":""}}')
    big = {"poll": {"id": "x" * (MAX_UPDATE_BYTES - tail_len)}}  # exactly 512 KiB after the update_id
    for _ in range(MAX_TOTAL_BYTES // MAX_UPDATE_BYTES):
        assert queue.push(big, "poll", 0.0) is not None
    assert queue.push(big, "poll", 0.0) is None
    assert queue.push({"poll": {}}, "poll", 0.0) is None  # full to the byte
    queue.confirm_below(queue.ids()[1])
    assert queue.push(big, "poll", 0.0) is not None  # room again after one is confirmed


# -- §8 close and logOut ----------------------------------------------------------


def test_s8_1_close_age_counts_from_the_bot_instance_start(in_process):
    """Kills L1c: the age measured from the clock's zero instead of the instance's start."""

    async def scenario(api: Api) -> None:
        await api.sleep(1000)  # the server has been up a while before the bot's first request
        await api.call("getMe")
        await api.sleep(100)
        reply = await api.call("close")
        assert reply.status == 429 and reply.body["parameters"]["retry_after"] == 500

    in_process(scenario)


def test_s8_2_s7_4_log_out_resets_allowed_updates(in_process):
    """Kills O3: allowed_updates survives logOut (it lives in the deleted TDLib data)."""

    async def scenario(api: Api) -> None:
        await api.call("getUpdates", allowed_updates=["poll"])
        assert (await api.call("logOut")).result is True
        await api.sleep(1800)
        assert "allowed_updates" not in (await api.call("getWebhookInfo")).result
        assert await api.push({"callback_query": {"id": "c"}}) != [None]

    in_process(scenario)


# -- §10 tokens, and the control API ----------------------------------------------


def test_s10_a_token_longer_than_80_characters_is_not_found(over):
    """Kills T1: the token length limit moved from 80 to 81."""

    async def scenario(api: Api) -> None:
        assert (await api.call("getMe", token="123:" + "A" * 76)).status == 200  # 80 characters
        assert (await api.call("getMe", token="123:" + "A" * 77)).body == NOT_FOUND  # 81

    over(scenario)


def test_s10_a_secret_shorter_than_24_characters_is_unauthorized(over):
    """Kills T5: the shortest accepted secret lowered from 24 to 20 characters."""

    async def scenario(api: Api) -> None:
        assert (await api.call("getMe", token="123:" + "A" * 24)).status == 200
        assert (await api.call("getMe", token="123:" + "A" * 23)).body == UNAUTHORIZED

    over(scenario)


def test_control_a_bots_log_lists_only_that_bots_requests(over):
    """Kills C2: /_fake/bot<token>/log returns every bot's requests."""

    async def scenario(api: Api) -> None:
        await api.call("getMe")
        await api.call("getMe", token=OTHER_TOKEN)
        mine = (await api.client.get(f"/_fake/bot{TOKEN}/log")).json()["result"]
        everyone = (await api.client.get("/_fake/log")).json()["result"]
        assert [e["token"] for e in mine] == ["123456:***"]  # secrets masked as in the log lines
        assert [e["token"] for e in everyone] == ["123456:***", "654321:***"]

    over(scenario)


# -- fidelity bugs the audit found in the core, fixed against the pinned source -------


def test_s8_2_s7_2_log_out_keeps_update_numbering(in_process):
    """TQueue's clear keeps the tail: ids continue after logOut (Client.cpp:9350-9355)."""

    async def scenario(api: Api) -> None:
        [before] = await api.push({"poll": {"id": "p"}})
        await api.call("logOut")
        await api.sleep(1800)
        assert await api.push({"poll": {"id": "q"}}) == [before + 1]

    in_process(scenario)


def test_s3_4_a_woken_poll_rereads_with_its_raw_offset_and_confirms_below_it(in_process):
    """Client.cpp:16420: the wake re-runs do_get_updates with the stored offset."""

    async def scenario(api: Api) -> None:
        [last] = await api.push({"poll": {"id": "0"}})
        poll = api.start("getUpdates", offset=last + 5, timeout=30)  # in window: confirms `last`
        await api.settle()
        await api.push({"poll": {"id": "1"}}, {"poll": {"id": "2"}})  # ids last+1, last+2 < offset
        assert (await poll).result == []
        assert (await api.call("getUpdates", offset=-100)).result == []  # deleted, as the server does

    in_process(scenario)


def test_s3_4_an_offset_that_comes_into_the_window_confirms_on_wake(in_process):
    async def scenario(api: Api) -> None:
        [last] = await api.push({"poll": {"id": "0"}})
        await api.call("getUpdates", offset=last + 1)  # confirmed: the queue is empty, tail = last + 1
        poll = api.start("getUpdates", offset=last + 12, timeout=30)  # tail + 11: out of the window
        await api.settle()
        await api.push({"poll": {"id": "1"}})  # tail moves: the offset is in the window now ...
        assert (await poll).result == []  # ... so the wake confirms the new update instead of returning it
        assert (await api.call("getUpdates", offset=-100)).result == []

    in_process(scenario)


def test_s1_3_the_1_mib_limit_counts_bytes_not_characters(over):
    async def scenario(api: Api) -> None:
        body = '{"chat_id":1,"text":"' + "é" * 600_000 + '"}'  # 600 000 characters, 1 200 000 bytes
        request = api.client.build_request(
            "POST", f"/bot{TOKEN}/sendMessage", content=body.encode(), headers={"content-type": "application/json"}
        )
        reply = await api.send(request)
        assert (reply.status, reply.raw) == (413, b"")

    over(scenario)


def test_s8_2_logged_out_lingers_30_minutes_from_the_log_out(in_process):
    async def scenario(api: Api) -> None:
        await api.call("getMe")
        await api.sleep(1000)
        await api.call("logOut")
        await api.sleep(900)
        assert (await api.call("getMe")).description == "Logged out"  # 1900 s: still within 30 min of logOut
        await api.sleep(900)
        assert (await api.call("getMe")).status == 200

    in_process(scenario)


def test_s8_1_close_goes_through_in_the_last_second_before_ten_minutes(in_process):
    async def scenario(api: Api) -> None:
        await api.call("getMe")
        await api.sleep(599.5)
        assert (await api.call("close")).body == {"ok": True, "result": True}

    in_process(scenario)


def test_s7_2_exactly_a_week_without_updates_restarts_numbering(in_process):
    async def scenario(api: Api) -> None:
        [first] = await api.push({"poll": {"id": "0"}})
        await api.call("getUpdates", offset=first + 1)
        await api.sleep(7 * 86400)
        assert await api.push({"poll": {"id": "1"}}) != [first + 1]

    in_process(scenario)
