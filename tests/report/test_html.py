"""The HTML timeline, laid out by a real headless Chromium and checked against the trace.

A measuring script is appended to a copy of the page: after layout it writes every lane's box
and every marker's box (getBoundingClientRect) as JSON into <pre id="layout">, which
``--dump-dom`` returns. Positions are then compared with the trace's times in pixels.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from simbot.check import History, judge
from simbot.cli import main
from simbot.report import html_timeline
from simbot.scenario import load, replay
from simbot.sim.trace import Trace

INCIDENT = Path(__file__).parents[2] / "scenarios" / "incident-render-delay-probe-backoff.toml"
HORIZON = load(INCIDENT).horizon
WIDTH = 1400
PIXELS = 1.5  # Chromium lays out in 1/64 px; percentages are written to 4 decimals
MEASURE = """<script>
const box = e => { const r = e.getBoundingClientRect(); return {x: r.left, w: r.width, h: r.height}; };
const lanes = {}; document.querySelectorAll('.track').forEach(e => { lanes[e.dataset.lane] = box(e); });
const items = [...document.querySelectorAll('.track [data-kind]')].map(e => ({...e.dataset, ...box(e)}));
const checks = [...document.querySelectorAll('#verdict tr[data-check]')].map(e => ({...e.dataset}));
const loaded = performance.getEntriesByType('resource').map(e => e.name);
const pre = document.createElement('pre'); pre.id = 'layout';
pre.textContent = JSON.stringify({lanes, items, checks, loaded, width: innerWidth});
document.body.appendChild(pre);
</script>"""


def chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed; .ci/run installs it (apt-get install chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium); under CI this test fails instead")


@pytest.fixture(scope="module")
def incident() -> tuple[Trace, Any, str]:
    trace, verdict, _ = replay(load(INCIDENT))
    return trace, verdict, html_timeline(trace, verdict, "incident")


@pytest.fixture(scope="module")
def layout(incident: tuple[Trace, Any, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return laid_out(incident[2], tmp_path_factory.mktemp("chromium"))


def laid_out(text: str, tmp: Path) -> dict[str, Any]:
    """Every lane's and marker's box as a real headless Chromium lays the page out."""
    browser = chromium()
    page = tmp / "page.html"
    page.write_text(text.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp / 'profile'}",
               "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", f"--window-size={WIDTH},900",
               "--dump-dom", page.as_uri()]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    found = re.search(r'<pre id="layout">(.*?)</pre>', done.stdout, re.S)
    assert found, f"chromium exited {done.returncode} without the layout:\n{done.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def seconds(layout: dict[str, Any], item: dict[str, Any]) -> float:
    """Where the browser drew an element's left edge, in virtual seconds of its lane."""
    lane = layout["lanes"][item["lane"]]
    return (item["x"] - lane["x"]) / lane["w"] * HORIZON


def pixels(layout: dict[str, Any], lane: str, t: float) -> float:
    return layout["lanes"][lane]["x"] + t / HORIZON * layout["lanes"][lane]["w"]



def test_one_lane_per_instance_and_every_element_sits_at_its_time(layout: dict[str, Any], incident):
    trace, _, _ = incident
    h = History(trace)
    assert [lane for lane in layout["lanes"] if lane not in ("axis", "platform")] == h.instances == ["bot.v1", "bot.v2"]
    widths = {round(lane["w"], 3) for lane in layout["lanes"].values()}
    assert len(widths) == 1 and widths.pop() > WIDTH / 2  # every lane shares one time axis
    items = layout["items"]
    assert len(items) > 100 and {i["kind"] for i in items} >= {"poll", "phase", "probe", "conflict", "update", "event",
                                                               "violation", "tick", "push", "kick", "kicked",
                                                               "exit"}  # fmt: skip
    for item in items:  # the left edge is linear in t; a bar's right edge too, unless widened to be visible
        t = float(item["t"])
        assert abs(item["x"] - pixels(layout, item["lane"], t)) <= PIXELS, item
        if "end" in item and item["w"] > 6:
            assert abs(item["x"] + item["w"] - pixels(layout, item["lane"], float(item["end"]))) <= PIXELS, item


def test_polls_and_409s_are_drawn_where_the_trace_has_them(layout: dict[str, Any], incident):
    trace, verdict, _ = incident
    h = History(trace)
    polls = sorted((i["lane"], float(i["t"]), float(i["end"])) for i in layout["items"] if i["kind"] == "poll")
    assert polls == sorted((p.instance, p.start, p.end) for p in h.polls)
    received = [r for r in h.requests if r["status"] == 409 and h.received(r)]
    drawn = [i for i in layout["items"] if i["kind"] == "conflict"]
    assert Counter(i["lane"] for i in drawn) == Counter(r["instance"] for r in received) == verdict.metrics["conflicts"]
    assert Counter(i["lane"] for i in drawn) == {"bot.v1": 3, "bot.v2": 3}
    expected = sorted((r["instance"], r["answered_at"]) for r in received)
    measured = sorted((i["lane"], seconds(layout, i)) for i in drawn)
    per_pixel = HORIZON / layout["lanes"]["bot.v1"]["w"]
    for (lane, t), (drawn_lane, at) in zip(expected, measured, strict=True):
        assert lane == drawn_lane and abs(t - at) <= PIXELS * per_pixel


def test_the_single_poller_violation_is_highlighted_from_the_first_kick(layout: dict[str, Any], incident):
    _, verdict, _ = incident
    kicks = verdict.checks["single_poller"].violations
    assert kicks[0].t == pytest.approx(70.0)
    marks = [i for i in layout["items"] if i["kind"] == "violation" and i["check"] == "single_poller"]
    assert {i["lane"] for i in marks} == {"bot.v1", "bot.v2"}
    assert len(marks) == sum(len(set(v.instances)) for v in kicks)
    first = min(marks, key=lambda i: i["x"])
    assert float(first["t"]) == kicks[0].t
    assert abs(first["x"] - pixels(layout, first["lane"], 70.0)) <= PIXELS and first["w"] >= 3 and first["h"] >= 30
    outcomes = {c["check"]: c["outcome"] for c in layout["checks"]}
    assert outcomes == {name: verdict.outcome(name) for name in verdict.checks}
    assert outcomes["single_poller"] == "fail" and outcomes["liveness"] == "pass"


def test_the_page_loads_nothing_from_the_network(incident, request: pytest.FixtureRequest):
    page = incident[2]
    for reference in ("http://", "https://", "src=", "href=", "url(", "@import", "//"):
        assert reference not in page, reference
    assert request.getfixturevalue("layout")["loaded"] == []  # the browser fetched no resource at all


def test_the_page_is_deterministic_and_escapes_text(incident):
    page = incident[2]
    again, verdict2, _ = replay(load(INCIDENT))
    assert html_timeline(again, verdict2, "incident") == page
    odd = Trace([{"t": 0.0, "kind": "spawn", "instance": "<b>&bot", "host": "h"},
                 {"t": 5.0, "kind": "exit", "instance": "<b>&bot", "code": 1}], horizon=10.0)  # fmt: skip
    text = html_timeline(odd, judge(odd), 'say "<script>"')
    assert "<b>&bot" not in text and "&lt;b&gt;&amp;bot" in text and "<script>" not in text


def test_replay_html_writes_the_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.chdir(tmp_path)
    assert main(["replay", str(INCIDENT), "--html", "t.html"]) == 0
    out, err = capsys.readouterr()
    assert "wrote t.html" in err and "bot.v1   |" in out and "matches [expect]" in out
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "incident-render-delay-probe-backoff.toml: The incident" in page


def test_kicks_link_kicker_and_kicked_lanes_and_exits_carry_their_code(layout: dict[str, Any], incident):
    trace, _, _ = incident
    h = History(trace)
    kicks = [(r["instance"], h.by_id[r["kicked"]]["instance"], r["t"]) for r in h.requests
             if r["kicked"] is not None and h.by_id[r["kicked"]]["instance"] != r["instance"]]  # fmt: skip
    out = sorted((i["lane"], i["kicked"], float(i["t"])) for i in layout["items"] if i["kind"] == "kick")
    into = sorted((i["by"], i["lane"], float(i["t"])) for i in layout["items"] if i["kind"] == "kicked")
    assert out == into == sorted(kicks) and kicks
    exits = {i["lane"]: (i["code"], float(i["t"])) for i in layout["items"] if i["kind"] == "exit"}
    assert exits == {n: (str(c), h.died[n]) for n, c in h.exit_codes.items()} and exits


def test_metrics_are_a_table_with_units_and_a_failing_run_has_no_banner(incident):
    _, verdict, page = incident
    assert 'id="banner"' not in page and 'data-status="FAIL"' in page
    downtime = re.search(r'<tr data-metric="downtime"><td>[^<]*</td><td>([^<]*)</td>', page)
    assert downtime and downtime.group(1) == f"{verdict.metrics['downtime']:.3f} s"
    assert "<code>" not in page.split('id="metrics"')[1]  # no raw JSON


def test_an_error_page_says_so_first_and_lists_the_crashes_and_findings():
    records = [{"t": 0.0, "kind": "spawn", "instance": "bot.v1", "host": "h"},
               {"t": 0.5, "kind": "finding", "instance": "bot.v1", "what": "thread pool call 'sum'", "where": "bot.py:3"},
               {"t": 1.0, "kind": "uncaught", "instance": "bot.v1", "type": "ValueError", "message": "no token",
                "where": "bot.py:12 in main"},
               {"t": 1.0, "kind": "exit", "instance": "bot.v1", "code": 1}]  # fmt: skip
    trace = Trace(records, horizon=10.0, meta={"ended_by": "quiet"})
    page = html_timeline(trace, judge(trace), "broken")
    banner = re.search(r'<div class="banner error" id="banner">([^<]*)</div>', page)
    assert banner and "ERROR: no instance ever sent a getUpdates: bot.v1 raised ValueError: no token" in banner.group(1)
    assert 'id="crashes"' in page and "ValueError: no token at bot.py:12 in main  ×1" in page
    assert 'id="findings"' in page and "thread pool call &#x27;sum&#x27; at bot.py:3" in page
    assert 'data-status="ERROR"' in page and 'data-outcome="pass"' not in page
    cut = Trace(records[:2], horizon=10.0, meta={"ended_by": "step limit: more than 10 loop steps"})
    assert 'class="banner inconclusive" id="banner">INCONCLUSIVE: cut short' in html_timeline(cut, judge(cut))


WEBHOOK_W2 = Path(__file__).parents[2] / "scenarios" / "webhook-delete-on-shutdown-aiogram-render_web.toml"


def test_a_deaf_webhook_bot_shows_where_the_webhook_ended_and_nobody_received(tmp_path: Path):
    """W2: the old instance's shutdown deletes the webhook; the page shows each instance receiving until
    then, the webhook band ending there, and the deaf time after it as a gap with the liveness finding."""
    trace, verdict, _ = replay(load(WEBHOOK_W2))
    h = History(trace)
    page = html_timeline(trace, verdict, "W2")
    assert "s: nobody polls or receives webhook POSTs" in page
    layout = laid_out(page, tmp_path)
    items = layout["items"]
    horizon = trace.horizon

    def at(item: dict[str, Any], key: str = "x") -> float:
        lane = layout["lanes"][item["lane"]]
        x = item["x"] + (item["w"] if key == "end" else 0)
        return (x - lane["x"]) / lane["w"] * horizon

    per_pixel = horizon / layout["lanes"]["platform"]["w"]
    receive = sorted((i["lane"], float(i["t"]), float(i["end"])) for i in items if i["kind"] == "receive")
    assert receive == sorted((who, s, e) for s, e, who in h.receiving)
    assert {lane for lane, _, _ in receive} == {"bot.v1", "bot.v2"}
    [hook] = [i for i in items if i["kind"] == "hook"]
    [(set_at, deleted_at)] = h.webhook_set()
    deleted = [r["t"] for r in h.requests if r["method"] == "deleteWebhook" and r["status"] == 200]
    assert deleted == [deleted_at] and deleted_at < horizon  # the old instance's shutdown hook
    assert abs(at(hook) - set_at) <= PIXELS * per_pixel and abs(at(hook, "end") - deleted_at) <= PIXELS * per_pixel
    [gap] = [i for i in items if i["kind"] == "gap" and float(i["t"]) >= deleted_at]
    assert float(gap["t"]) == max(e for _, _, e in receive) == deleted_at and float(gap["end"]) == horizon
    assert any(i["kind"] == "violation" and i["check"] == "liveness" for i in items)
    assert verdict.outcome("liveness") == "fail" and not h.polls  # a webhook bot: it never polled, yet not ERROR
