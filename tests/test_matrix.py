"""``simbot matrix``: one selection, three formats that agree, and a clear error for a bad selection."""

from __future__ import annotations

import csv
import io
import json

import pytest

from simbot import matrix
from simbot.check import CHECKS
from simbot.cli import main

POLICIES, PLATFORMS = ("naive", "lease"), ("k8s_rolling_1", "railway_2025")  # ~0.1 s a cell


@pytest.fixture(scope="module")
def outputs() -> dict[str, str]:
    selection = ["--policies", ",".join(POLICIES), "--platforms", ",".join(PLATFORMS)]
    out = {}
    for fmt in matrix.FORMATS:
        with pytest.MonkeyPatch.context() as mp:
            buffer = io.StringIO()
            mp.setattr("sys.stdout", buffer)
            assert main(["matrix", *selection, "--format", fmt]) == 0
        out[fmt] = buffer.getvalue()
    return out


def test_json_is_one_sorted_object_per_cell_platform_by_platform(outputs: dict[str, str]):
    table = json.loads(outputs["json"])
    assert [(r["platform"], r["policy"]) for r in table] == [(pl, po) for pl in PLATFORMS for po in POLICIES]
    assert all(list(r) == sorted(matrix.COLUMNS) for r in table)
    naive = table[0]  # k8s RollingUpdate without a readiness probe: a short overlap, one 409 (tests/startup)
    assert (naive["single_poller"], naive["liveness"], naive["conflicts_409"]) == ("fail", "pass", 1)
    assert naive["overlap_s"] > 0
    assert all(r["single_poller"] == "pass" and r["overlap_s"] == 0 for r in table if r["policy"] == "lease")
    assert outputs["json"] == json.dumps(table, indent=2, sort_keys=True) + "\n"


def test_csv_has_a_header_and_the_same_values_as_json(outputs: dict[str, str]):
    assert outputs["csv"].splitlines()[0] == ",".join(matrix.COLUMNS)
    table = json.loads(outputs["json"])
    assert list(csv.DictReader(io.StringIO(outputs["csv"]))) == [{k: str(v) for k, v in r.items()} for r in table]


def test_markdown_has_a_line_per_platform_and_a_column_per_policy_from_the_same_rows(outputs: dict[str, str]):
    table = json.loads(outputs["json"])
    lines = outputs["md"].splitlines()
    assert lines[:2] == ["| preset | naive | lease |", "|---|---|---|"]
    assert [line.split(" | ")[0] for line in lines[2:]] == [f"| {p}" for p in PLATFORMS]
    assert lines[2] == f"| k8s_rolling_1 | {matrix.cell(table[0])} | {matrix.cell(table[1])} |"
    assert matrix.cell(table[0]).startswith("**2 pollers** / live / ok / 0s, 1×409")
    assert outputs["md"] == matrix.markdown(table)


def test_rows_agree_with_the_verdict_of_the_deploy():
    verdict = matrix.deploy("naive", "railway_2025")
    row = matrix.row("naive", "railway_2025", verdict)
    assert [row[c] for c in CHECKS] == [verdict.outcome(c) for c in CHECKS]
    assert row["conflicts_409"] == sum(verdict.metrics["conflicts"].values()) == 1
    assert row["downtime_s"] == verdict.metrics["downtime"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policies", "naive,yolo"], "--policies: unknown 'yolo'; expected one or more of naive, exit-on-conflict, "
                                        "delay-probe-backoff, lease"),
        (["--platforms", "render,heroku"], "--platforms: unknown 'render', 'heroku'; expected one or more of "
                                           "compose_recreate, docker_always"),
        (["--policies", ","], "--policies: no names given"),
    ],
)  # fmt: skip
def test_an_unknown_name_exits_2_naming_the_parameter_and_the_allowed_values(args, message, capsys):
    assert main(["matrix", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("simbot matrix: ") and message in captured.err
    assert "Traceback" not in captured.err


def test_an_unknown_format_is_argparses_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["matrix", "--format", "xml"])
    assert exited.value.code == 2 and "invalid choice: 'xml'" in capsys.readouterr().err


def test_the_library_names_the_parameter_too():
    with pytest.raises(matrix.SelectionError, match=r"^platforms: unknown 'mars'") as caught:
        matrix.rows(platforms=["mars"])
    assert caught.value.parameter == "platforms"
    assert matrix.select(["lease", "naive", "lease"], None) == (["lease", "naive"], sorted(matrix.PRESETS))


def test_a_cell_that_cannot_be_trusted_shows_its_status_not_figures(outputs: dict[str, str]):
    table = json.loads(outputs["json"])
    assert {r["status"] for r in table} <= {"pass", "fail"} and table[0]["status"] == "fail"
    error = {**table[1], "status": "error"}
    cut = {**table[1], "status": "inconclusive (cut short)"}
    assert matrix.cell(error) == "**ERROR**: the bot never worked"
    assert matrix.cell(cut) == "**inconclusive: cut short**"
    assert matrix.cell(table[1]).startswith("1 poller")


def test_status_is_a_column_of_csv_and_json(outputs: dict[str, str]):
    assert outputs["csv"].splitlines()[0].startswith("framework,policy,platform,status,")


def test_a_bot_target_is_a_column_of_its_own_or_beside_the_policies(capsys):
    import json

    from simbot.cli import main

    assert main(["matrix", "--bot", "simbot.drivers.ptb:naive", "--platforms", "k8s_rolling_1", "--format", "json"]) == 0
    [alone] = json.loads(capsys.readouterr().out)
    assert alone["policy"] == "simbot.drivers.ptb:naive" and alone["single_poller"] == "fail"
    assert main(["matrix", "--bot", "simbot.drivers.ptb:naive", "--policies", "naive", "--platforms", "k8s_rolling_1"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0] == "| preset | naive | simbot.drivers.ptb:naive |"
    naive, bot = table.splitlines()[2].split(" | ")[1:3]
    assert naive == bot.rstrip(" |")  # the same bot through the contract and as a policy: the same cell


def test_a_bad_bot_target_or_a_stray_env_exits_2(capsys):
    from simbot.cli import main

    assert main(["matrix", "--bot", "missing.py", "--platforms", "k8s_rolling_1"]) == 2
    assert "simbot matrix: --bot: the bot's script, a file;" in capsys.readouterr().err
    assert main(["matrix", "--env", "A=b"]) == 2
    assert "simbot matrix: --env: a --bot to give it to" in capsys.readouterr().err


def test_a_cell_that_cannot_be_trusted_makes_the_matrix_exit_1_and_says_which(capsys):
    from simbot.cli import main

    bot = "tests/bots/raises_at_import/bot.py"
    assert main(["matrix", "--bot", bot, "--policies", "naive", "--platforms", "k8s_recreate"]) == 1
    captured = capsys.readouterr()
    assert "**ERROR**: the bot never worked" in captured.out  # the table is still printed
    assert f"simbot matrix: {bot} on k8s_recreate: ERROR, not a verdict on its start-up" in captured.err
    assert "naive on" not in captured.err


# -- --framework: a table per framework -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def both() -> dict[str, str]:
    selection = ["--framework", "both", "--policies", "naive,startup_delay,delay-probe-backoff",
                 "--platforms", "k8s_rolling_1"]  # fmt: skip
    out = {}
    for fmt in ("md", "json"):
        with pytest.MonkeyPatch.context() as mp:
            buffer = io.StringIO()
            mp.setattr("sys.stdout", buffer)
            assert main(["matrix", *selection, "--format", fmt]) == 0
        out[fmt] = buffer.getvalue()
    return out


def test_both_frameworks_run_their_own_bots_in_the_chosen_columns(both: dict[str, str]):
    table = json.loads(both["json"])
    # delay-probe-backoff is a python-telegram-bot policy: aiogram's table has no such column
    assert [(r["framework"], r["policy"]) for r in table] == [
        ("ptb", "naive"), ("ptb", "startup_delay"), ("ptb", "delay-probe-backoff"),
        ("aiogram", "naive"), ("aiogram", "startup_delay")]  # fmt: skip
    # k8s RollingUpdate: the plain bots overlap for a moment (one 409); a 10 s delay outlasts it
    outcome = {(r["framework"], r["policy"]): (r["status"], r["conflicts_409"]) for r in table}
    assert outcome["ptb", "naive"] == outcome["aiogram", "naive"] == ("fail", 1)
    assert outcome["ptb", "startup_delay"] == outcome["aiogram", "startup_delay"] == ("pass", 0)


def test_both_frameworks_render_as_two_headed_tables_with_a_legend(both: dict[str, str]):
    table = json.loads(both["json"])
    md = both["md"]
    ptb, aiogram = md.split("### aiogram 3\n\n")
    assert ptb.startswith("### python-telegram-bot 22\n\n| preset | naive | startup_delay | delay-probe-backoff |\n")
    assert aiogram.startswith("| preset | naive | startup_delay |\n|---|---|---|\n")
    cells = [matrix.short_cell(r) for r in table if r["framework"] == "aiogram"]
    assert f"| k8s_rolling_1 | {' | '.join(cells)} |" in aiogram
    assert cells == ["**FAIL** sp, 1×409, 0s", "PASS, 0×409, 10s"]
    assert md.endswith(matrix.LEGEND + "\n")


def test_a_short_cell_names_the_failed_checks_with_their_counts():
    r = {"status": "fail", "single_poller": "pass", "liveness": "fail", "lost_updates": "fail", "duplicates": "fail",
         "updates_lost": 9, "updates_duplicated": 2, "conflicts_409": 0, "downtime_s": 150.2}  # fmt: skip
    assert matrix.short_cell(r) == "**FAIL** live+lost 9+dup 2, 0×409, 150s"
    assert matrix.short_cell({**r, "status": "error"}) == "**ERROR**: the bot never worked"
    assert matrix.short_cell({**r, "status": "fail (cut short)"}) == "**fail: cut short**"


def test_each_framework_has_its_plain_bot_and_every_practice():
    for framework in matrix.FRAMEWORKS:
        labels = [label for label, _ in matrix.framework_columns(framework)]
        assert labels[: 1 + len(matrix.PRACTICES)] == ["naive", *matrix.PRACTICES]
        assert labels[-3:] == ["lease", "webhook_example", "webhook"]  # "lease"/"webhook": simbot's, per framework


def test_webhook_cells_are_not_applicable_where_the_preset_routes_no_http():
    table = matrix.rows(framework="both", policies=["webhook_example", "webhook"],
                        platforms=["render_worker", "render_web"])  # fmt: skip
    got = {(r["framework"], r["policy"], r["platform"]): r["status"] for r in table}
    assert got == {(f, p, "render_worker"): "n/a" for f in matrix.FRAMEWORKS for p in ("webhook_example", "webhook")} | {
        (f, p, "render_web"): "pass" for f in matrix.FRAMEWORKS for p in ("webhook_example", "webhook")}
    na = next(r for r in table if r["status"] == "n/a")
    assert matrix.short_cell(na) == matrix.cell(na) == "n/a" and na["updates_lost"] is None
    rows = list(csv.DictReader(io.StringIO(matrix.csv_text(table))))
    assert [(r["status"], r["updates_lost"]) for r in rows if r["platform"] == "render_worker"] == [("n/a", "")] * 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--framework", "telebot"], "--framework: expected one of ptb, aiogram, both, got 'telebot'"),
        (["--framework", "ptb", "--bot", "tests/bots/ptb_echo/bot.py"], "--framework: a --bot is judged on its own"),
        (["--framework", "aiogram", "--policies", "naive,yolo"], "--policies: unknown 'yolo'; expected one or more "
                                                                  "of naive, startup_delay"),
    ],
)  # fmt: skip
def test_a_bad_framework_selection_exits_2_naming_the_parameter(args, message, capsys):
    assert main(["matrix", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err


def test_without_the_practice_bots_the_framework_tables_say_where_they_were_looked_for(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(matrix, "PRACTICE_DIR", tmp_path)
    assert main(["matrix", "--framework", "ptb"]) == 2
    assert f"a checkout of simbot; {tmp_path / 'startup_delay' / 'ptb_bot.py'} is missing" in capsys.readouterr().err
