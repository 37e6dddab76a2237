"""Broken scenario files: each is refused by ``simbot replay`` with exit 2, naming the file and the key.

``tests/scenario/broken/*.toml`` holds one mistake per file; its first line names the key
the error must name. Among them: the five files that gave tracebacks on the issue's
measurement and the sixteen that were silently run (one with a PASS verdict from
twelve crashing instances). Files that are not files (a FIFO, a directory, a device, a
huge file) are made here.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from pathlib import Path

import pytest

from simbot.cli import main
from simbot.platforms import Platform
from simbot.scenario import EVENT_KINDS, ScenarioError, parse
from simbot.scenario.limits import EVENT_PARAMS
from simbot.startup import POLICIES

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.toml"))
MINIMAL = 'horizon = 100\n[platform]\npreset = "render_worker"\n[bot]\npolicy = "naive"\n'


def replay(path: Path | str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["replay", str(path)])
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    return code, out.err


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_a_broken_file_is_refused_naming_the_file_and_the_key(path: Path, capsys: pytest.CaptureFixture[str]):
    key = path.read_text().splitlines()[0].removeprefix("# key: ")
    code, err = replay(path, capsys)
    assert code == 2, err
    assert f"simbot replay: {path}: {key}: expected " in err


def test_the_corpus_holds_the_issues_cases():
    names = {p.stem for p in BROKEN}
    tracebacks = {"horizon-nan", "latency-nan", "drop-nan", "backoff-scalar", "updates-every-millisecond"}
    accepted = {"horizon-inf", "event-at-nan", "updates-start-inf", "order-sideways", "on-exit-zero-explode",
                "readiness-soon", "readiness-negative", "crash-replica-99", "outage-status-999", "pause-negative",
                "scale-negative", "stray-no-such-entry", "params-delay-ten", "pause-nan", "outage-seconds-inf",
                "store-latency-inf"}  # fmt: skip
    assert tracebacks | accepted | {"scale-huge"} <= names


@pytest.mark.timeout(20)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    fifo = tmp_path / "scenario.toml"
    os.mkfifo(fifo)
    code, err = replay(fifo, capsys)
    assert code == 2 and f"{fifo}: not a regular file" in err


@pytest.mark.timeout(20)
def test_a_device_a_directory_and_a_huge_file_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    if os.path.exists("/dev/zero"):
        code, err = replay("/dev/zero", capsys)
        assert code == 2 and "/dev/zero: not a regular file" in err
    code, err = replay(tmp_path, capsys)
    assert code == 2 and f"{tmp_path}: a directory" in err
    huge = tmp_path / "huge.toml"
    huge.write_text(MINIMAL + "# " + "x" * (1 << 20) + "\n")
    code, err = replay(huge, capsys)
    assert code == 2 and f"{huge}: {huge.stat().st_size} bytes; expected a scenario file of at most 1048576" in err
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe horizon")
    code, err = replay(binary, capsys)
    assert code == 2 and f"{binary}: not UTF-8 text" in err


def test_every_event_parameter_has_a_declared_type_and_range():
    assert {k: set(v) for k, v in EVENT_KINDS.items() if v} == {k: set(v) for k, v in EVENT_PARAMS.items()}


def bad(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse(tomllib.loads(text))
    return str(caught.value)


LITERALS = [f.name for f in dataclasses.fields(Platform)
            if typing.get_origin(typing.get_type_hints(Platform)[f.name]) is typing.Literal]  # fmt: skip


@pytest.mark.parametrize("field", LITERALS)
def test_every_named_platform_field_takes_only_its_names(field: str):
    assert set(LITERALS) >= {"order", "stop_signal", "on_exit_zero", "on_exit_nonzero"}
    names = typing.get_args(typing.get_type_hints(Platform)[field])
    message = bad(MINIMAL.replace("[bot]", f'{field} = "bogus"\n[bot]'))
    assert f"platform.{field}: expected one of {', '.join(names)}, got 'bogus'" in message
    for name in names:  # and each of its names is accepted
        parse(tomllib.loads(MINIMAL.replace("[bot]", f'{field} = "{name}"\n[bot]')))


def wrong_value(hint: typing.Any) -> object:
    """A value of the wrong type for ``hint``: a word for numbers and flags, a number for names."""
    inner = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return 5 if inner[0] is str else "wrong"


POLICY_FIELDS = [(name, f.name) for name, cls in POLICIES.items() for f in dataclasses.fields(cls)
                 if f.name not in ("store", "owner", "lock_dir")]  # fmt: skip


@pytest.mark.parametrize(("policy", "field"), POLICY_FIELDS, ids=[f"{p}.{f}" for p, f in POLICY_FIELDS])
def test_each_policy_parameter_of_the_wrong_type_is_refused(policy: str, field: str):
    hint = typing.get_type_hints(POLICIES[policy])[field]
    value = wrong_value(hint)
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    message = bad(MINIMAL.replace('policy = "naive"', f'policy = "{policy}"\nparams = {{ {field} = {shown} }}'))
    assert f"<scenario>: bot.params.{field}: expected " in message and f"got {value!r}" in message
    expected = message.split(": expected ")[1]
    assert expected.startswith(("a number", "an integer", "true or false", "one of", "a non-empty string",
                                "a list of names")), expected  # fmt: skip


def test_policies_refuse_bad_parameters_outside_scenario_files_too():
    from simbot.startup import ParamError, policy

    with pytest.raises(ParamError, match=r"policy .delay-probe-backoff.: delay: expected a number at least 0 and at most 2592000, got 'ten'"):
        policy("delay-probe-backoff", delay="ten")
    with pytest.raises(ParamError, match=r"policy .naive.: poll_timeout: expected an integer at least 0 and at most 50, got 51"):
        policy("naive", poll_timeout=51)
    assert policy("delay-probe-backoff", delay=3, reset_after=None).delay == 3  # and good ones still work


def test_the_run_size_bound_names_the_biggest_share_and_the_figures():
    """10 s estimated: 200 replicas for 400 s (8 s polling, 2 s launching) pass; a second more does not."""
    at_bound = MINIMAL.replace("horizon = 100", "horizon = 400").replace("[bot]", "replicas = 200\n[bot]")
    parse(tomllib.loads(at_bound))
    message = bad(at_bound.replace("400", "401"))
    assert "<scenario>: horizon: expected a run estimated at most 10 s of real time" in message
    assert "200 replicas × 401 s + 0 s of strays = 80,200 instance-seconds × 100 µs" in message
    assert "1 rollouts × 200 replicas + crashes and strays = 200 processes × 10 ms" in message
    updates = MINIMAL.replace("horizon = 100", "horizon = 1000") + "[updates]\nstart = 0\nevery = 0.2\n"
    assert "<scenario>: updates: expected a run estimated at most 10 s" in bad(updates)
    assert "platform.replicas: expected an integer at least 1 and at most 200, got 201" in bad(
        at_bound.replace("replicas = 200", "replicas = 201"))


def test_a_stray_with_a_good_entry_and_a_crash_on_a_scaled_up_replica_are_accepted():
    ok = MINIMAL + ('[[events]]\nat = 5\nkind = "scale"\nreplicas = 3\n'
                    '[[events]]\nat = 5\nkind = "crash"\nreplica = 2\n'
                    '[[events]]\nat = 10\nkind = "stray"\nentry = "simbot.drivers.ptb:naive"\nuntil = 20\n')  # fmt: skip
    assert len(parse(tomllib.loads(ok)).events) == 3
    # file order decides within one instant: the crash before the scale has one replica only
    swapped = MINIMAL + '[[events]]\nat = 5\nkind = "crash"\nreplica = 2\n[[events]]\nat = 5\nkind = "scale"\nreplicas = 3\n'
    assert "events[0].replica: expected a replica that exists at 5 s: there is 1 replica (0 .. 0) then" in bad(swapped)


@pytest.mark.parametrize(("keywords", "message"), [
    ({"policy": "delay-probe-backoff", "params": {"delay": "ten"}},
     "simbot_run: bot.params.delay: expected a number at least 0 and at most 2592000, got 'ten'"),
    ({"policy": "naive", "overrides": {"grace": float("nan")}},
     "simbot_run: platform.grace: expected a finite number at least 0 and at most 2592000, got nan"),
    ({"policy": "naive", "events": [(0, "start"), (10, "scale", {"replicas": 100_000})]},
     "simbot_run: events[1].replicas: expected an integer at least 0 and at most 200, got 100000"),
    ({"policy": "naive", "updates_every": 0.001, "horizon": 86400},
     "simbot_run: updates: expected a run estimated at most 10 s of real time"),
])  # fmt: skip
def test_the_plugin_keywords_are_checked_like_a_file(simbot_run, keywords: dict[str, object], message: str):
    with pytest.raises(pytest.fail.Exception) as caught:
        simbot_run.scenario("render_worker", **keywords)
    assert message in str(caught.value)
