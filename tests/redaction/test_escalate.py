"""The escalation policy, its decision log and its command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import OmegaConf

from redaction.escalate import (
    Clip,
    DecisionLog,
    EscalationError,
    EscalationPolicy,
    main,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "conf" / "redaction" / "escalate.yaml"
KEY = "test-key-0123456789abcdef"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def policy(**kw) -> EscalationPolicy:
    return EscalationPolicy(**{"sample_key": KEY, **kw})


def clip(i: int | str = 0, *, device="dev1", conf=0.9, fw=False, consent=True, t=T0) -> Clip:
    return Clip(f"c{i}", device, conf, fw, consent, t)


def sampled_and_not(p: EscalationPolicy, device: str = "dev1") -> tuple[str, str]:
    """Two clip ids of ``device``: one the policy's sample draws, one it does not."""
    ids = [f"c{i}" for i in range(1000)]
    hit = next(c for c in ids if p.draw(device, c) < p.sample_rate)
    miss = next(c for c in ids if p.draw(device, c) >= p.sample_rate)
    return hit, miss


# --- the rules, one row each --------------------------------------------------------------

P = policy(confidence_floor=0.5, sample_rate=0.2)
HIT, MISS = sampled_and_not(P)


@pytest.mark.parametrize(
    ("pol", "c", "expected"),
    [
        (P, clip(conf=0.3), ("escalate", "low_confidence")),
        (P, Clip(HIT, "dev1", 0.9, False, True, T0), ("escalate", "consented_sample")),
        (P, Clip(MISS, "dev1", 0.9, False, True, T0), ("keep", "not_sampled")),
        (P, Clip(HIT, "dev1", 0.9, False, False, T0), ("keep", "no_consent")),
        (P, clip(conf=0.3, consent=False), ("keep", "no_consent")),
        (
            policy(consent_for_all=False),
            clip(conf=0.3, consent=False),
            ("escalate", "low_confidence"),
        ),
        (
            policy(consent_for_all=False, sample_rate=0.2),
            clip(consent=False),
            ("keep", "no_consent"),
        ),
        (policy(sample_rate=0.0), clip(conf=0.9), ("keep", "confident")),
        (P, Clip(MISS, "dev1", 0.5, False, True, T0), ("keep", "not_sampled")),  # at the floor
        (P, clip(conf=0.0, fw=True), ("keep", "suspected_false_wake")),
        (P, Clip(HIT, "dev1", 0.9, True, True, T0), ("keep", "suspected_false_wake")),
        (policy(sample_rate=1.0), clip(conf=0.01, fw=True), ("keep", "suspected_false_wake")),
    ],
)
def test_rules(pol, c, expected):
    assert pol.evaluate(c, today=0, total=0) == expected


@pytest.mark.parametrize(
    ("today", "total", "expected"),
    [
        (0, 0, ("escalate", "low_confidence")),
        (2, 2, ("escalate", "low_confidence")),
        (3, 3, ("keep", "cap_day")),
        (0, 10, ("keep", "cap_total")),
        (3, 10, ("keep", "cap_total")),
    ],
)
def test_caps(today, total, expected):
    p = policy(max_per_day=3, max_total=10)
    assert p.evaluate(clip(conf=0.1), today=today, total=total) == expected


def test_caps_do_not_apply_to_clips_that_stay():
    p = policy(max_per_day=0, max_total=0)
    assert p.evaluate(clip(conf=0.1, fw=True), today=0, total=0)[1] == "suspected_false_wake"
    assert p.evaluate(clip(conf=0.1), today=0, total=0) == ("keep", "cap_total")


@pytest.mark.parametrize("rate", [0.05, 0.3])
def test_sample_rate_is_close_to_the_configured_rate(rate):
    p = policy(sample_rate=rate)
    n = 20_000
    got = sum(p.evaluate(clip(i), today=0, total=0)[0] == "escalate" for i in range(n)) / n
    sd = (rate * (1 - rate) / n) ** 0.5
    assert abs(got - rate) < 4 * sd


def test_draw_is_reproducible_and_depends_on_the_key():
    a, b = policy(), policy()
    other = policy(sample_key="another-key-0123456789")
    draws = [a.draw("dev1", f"c{i}") for i in range(200)]
    assert draws == [b.draw("dev1", f"c{i}") for i in range(200)]
    assert draws != [other.draw("dev1", f"c{i}") for i in range(200)]
    assert draws != [a.draw("dev2", f"c{i}") for i in range(200)]
    assert all(0.0 <= d < 1.0 for d in draws)


def test_key_from_the_environment_and_never_shown(monkeypatch):
    monkeypatch.setenv("MY_ESCALATE_KEY", KEY)
    p = EscalationPolicy(key_env="MY_ESCALATE_KEY", sample_rate=0.1)
    assert p.draw("d", "c") == policy().draw("d", "c")
    assert KEY not in repr(p)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"confidence_floor": 1.5}, "confidence_floor=1.5"),
        ({"confidence_floor": "high"}, "confidence_floor='high'"),
        ({"sample_rate": -0.1}, "sample_rate=-0.1"),
        ({"sample_rate": float("nan")}, "sample_rate=nan"),
        ({"max_per_day": -1}, "max_per_day=-1"),
        ({"max_total": 2.5}, "max_total=2.5"),
        ({"max_total": True}, "max_total=True"),
        ({"consent_for_all": "yes"}, "consent_for_all='yes'"),
        ({"sample_key": "short"}, "SOTTOVOCE_ESCALATE_KEY"),
    ],
)
def test_bad_settings_fail_at_construction_in_one_line(kw, message):
    with pytest.raises(EscalationError, match=message.replace("(", r"\(")) as e:
        policy(**kw)
    assert "\n" not in str(e.value)


def test_sampling_without_a_key_is_refused(monkeypatch):
    monkeypatch.delenv("SOTTOVOCE_ESCALATE_KEY", raising=False)
    with pytest.raises(EscalationError, match="secret key"):
        EscalationPolicy(sample_rate=0.1)
    assert EscalationPolicy(sample_rate=0.0).sample_key is None  # no sample, no key needed


def test_config_instantiates_with_the_defaults(monkeypatch):
    monkeypatch.setenv("SOTTOVOCE_ESCALATE_KEY", KEY)
    cfg = OmegaConf.load(CONFIG)
    p = instantiate(cfg)
    assert isinstance(p, EscalationPolicy)
    assert p == EscalationPolicy()  # the YAML and the dataclass defaults agree
    assert p.consent_for_all is True  # the safe default
    with pytest.raises(EscalationError, match=r"unknown escalation setting\(s\) \['max_per_dya'\]"):
        EscalationPolicy.from_mapping({**OmegaConf.to_container(cfg), "max_per_dya": 1})


# --- the log --------------------------------------------------------------------------------


def test_every_decision_is_logged_and_caps_survive_a_restart(tmp_path):
    path = tmp_path / "log.jsonl"
    p = policy(max_per_day=2, max_total=3, sample_rate=0.0)
    log = DecisionLog(path)
    day1 = [log.decide(p, clip(i, conf=0.1)) for i in range(3)]
    assert [d.reason for d in day1] == ["low_confidence", "low_confidence", "cap_day"]
    log.decide(p, clip("fw", conf=0.1, fw=True))

    restarted = DecisionLog(path)  # a new process: the caps come from the log
    t1 = T0.replace(day=2)
    day2 = [restarted.decide(p, clip(10 + i, conf=0.1, t=t1)) for i in range(2)]
    assert [d.reason for d in day2] == ["low_confidence", "cap_total"]
    other = restarted.decide(p, clip(20, device="dev2", conf=0.1, t=t1))
    assert other.escalate  # caps are per device

    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 7
    assert {tuple(sorted(r)) for r in rows} == {("clip", "decision", "device", "reason", "time")}
    assert rows[0]["time"] == "2026-03-01T12:00:00.000Z"
    assert DecisionLog(path).problems == []


def test_caps_hold_for_two_deciders_on_one_log(tmp_path):
    path = tmp_path / "log.jsonl"
    p = policy(max_per_day=5, max_total=5, sample_rate=0.0)
    a, b = DecisionLog(path), DecisionLog(path)
    decisions = [(a if i % 2 else b).decide(p, clip(i, conf=0.1)) for i in range(8)]
    assert sum(d.escalate for d in decisions) == 5


def test_times_are_utc_and_days_counted_in_utc(tmp_path):
    c = Clip.from_dict(
        {
            "clip": "a",
            "device": "d",
            "confidence": 0.1,
            "false_wake": False,
            "consent": True,
            "time": "2026-03-01T23:30:00-02:00",
        }
    )
    assert c.time == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    log = DecisionLog(tmp_path / "log.jsonl")
    assert log.decide(policy(sample_rate=0.0), c).time == "2026-03-02T01:30:00.000Z"


def test_duplicate_clip_ids_are_refused(tmp_path):
    log = DecisionLog(tmp_path / "log.jsonl")
    log.decide(policy(), clip(1, conf=0.1))
    with pytest.raises(EscalationError, match="already has a decision"):
        log.decide(policy(), clip(1, conf=0.9))
    assert log.decision("c1")["reason"] == "low_confidence"


def test_outcomes(tmp_path):
    path = tmp_path / "log.jsonl"
    log = DecisionLog(path)
    p = policy(sample_rate=0.0)
    log.decide(p, clip(1, conf=0.1))
    log.decide(p, clip(2, conf=0.1))
    log.decide(p, clip(3, conf=0.9))
    log.record_outcome("c1", redacted_id="r-abc")
    log.record_outcome("c2", withheld="span_out_of_range")
    for bad, kw in [
        ("c3", {"redacted_id": "r"}),  # kept on the device: no outcome
        ("c9", {"redacted_id": "r"}),  # unknown
        ("c1", {"redacted_id": "r2"}),  # already has one
        ("c2", {}),
        ("c2", {"redacted_id": "r", "withheld": "x"}),
    ]:
        with pytest.raises(EscalationError):
            log.record_outcome(bad, **kw)
    rows = {r["clip"]: r for r in DecisionLog(path).device_rows("dev1")}
    assert (rows["c1"]["outcome"], rows["c1"]["detail"]) == ("queued", "r-abc")
    assert (rows["c2"]["outcome"], rows["c2"]["detail"]) == ("withheld", "span_out_of_range")
    assert rows["c3"]["outcome"] is None


def test_a_torn_last_line_is_reported_skipped_and_closed(tmp_path):
    path = tmp_path / "log.jsonl"
    p = policy(sample_rate=0.0, max_total=2)
    DecisionLog(path).decide(p, clip(1, conf=0.1))
    with path.open("a") as f:
        f.write('{"clip": "c2", "device": "dev1", "decis')  # a crash mid-write
    log = DecisionLog(path)
    assert len(log.problems) == 1 and "line 2: unfinished last line" in log.problems[0]
    d = log.decide(p, clip(3, conf=0.1))
    assert d.reason == "low_confidence"  # the torn line did not count
    assert len(log.problems) == 1  # reported once
    lines = path.read_text().splitlines()
    assert json.loads(lines[2])["clip"] == "c3"  # on a line of its own
    again = DecisionLog(path)
    assert len(again.problems) == 1 and "line 2: unreadable" in again.problems[0]
    assert again.decide(p, clip(4, conf=0.1)).reason == "cap_total"


def test_a_log_that_shrank_is_refused(tmp_path):
    path = tmp_path / "log.jsonl"
    log = DecisionLog(path)
    log.decide(policy(), clip(1, conf=0.1))
    path.write_text("")
    with pytest.raises(EscalationError, match="shrank"):
        log.decide(policy(), clip(2, conf=0.1))


# --- the command line -----------------------------------------------------------------------


def line(i, **kw) -> str:
    row = {"clip": f"c{i}", "device": "dev1", "confidence": 0.1, "false_wake": False}
    return json.dumps({**row, "consent": True, "time": "2026-03-01T12:00:00Z", **kw})


def run_cli(monkeypatch, capsys, args, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setenv("SOTTOVOCE_ESCALATE_KEY", KEY)

    class In:
        buffer = stdin.encode().splitlines(keepends=True)

    monkeypatch.setattr(sys, "stdin", In)
    try:
        rc = main(args)
    except SystemExit as e:  # argparse's own errors
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_decide_and_list(monkeypatch, capsys, tmp_path):
    log = str(tmp_path / "log.jsonl")
    clips = "\n".join(
        [line(1), line(2, false_wake=True), "", line(3, device="dev2"), line(4, consent=False)]
    )
    rc, out, err = run_cli(monkeypatch, capsys, ["decide", "--log", log], clips)
    assert rc == 0, err
    decisions = [json.loads(x) for x in out.splitlines()]
    assert [d["reason"] for d in decisions] == [
        "low_confidence",
        "suspected_false_wake",
        "low_confidence",
        "no_consent",
    ]
    DecisionLog(log).record_outcome("c1", redacted_id="r-xyz")

    rc, out, err = run_cli(monkeypatch, capsys, ["list", "dev1", "--log", log])
    assert rc == 0 and err == ""
    assert "c1" in out and "queued r-xyz" in out and "suspected_false_wake" in out
    assert "c3" not in out and "dev2" not in out  # nothing about other devices

    rc, out, _ = run_cli(monkeypatch, capsys, ["list", "dev9", "--log", log])
    assert rc == 0 and "no escalation decisions" in out and "dev1" not in out


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "stdin line 2: not JSON"),
        ('{"clip": "c9", "device": "dev1"}', "stdin line 2: missing field(s) confidence"),
        (line(9, confidence=1.5), "stdin line 2: confidence 1.5 is outside [0, 1]"),
        (line(9, confidence=-0.1), "stdin line 2: confidence -0.1 is outside [0, 1]"),
        (line(9, confidence="low"), "stdin line 2: confidence must be a number"),
        (line(9, consent="yes"), "stdin line 2: consent must be true or false"),
        (line(9, time="yesterday"), "stdin line 2: time 'yesterday' is not an ISO 8601 time"),
        (line(9, text="call bob"), "stdin line 2: unknown field(s) text"),
        (line(1), "stdin line 2: clip 'c1' already has a decision"),
        ("[1, 2]", "stdin line 2: expected a JSON object"),
    ],
)
def test_cli_decide_bad_input(monkeypatch, capsys, tmp_path, bad, message):
    log = tmp_path / "log.jsonl"
    stdin = "\n".join([line(1), bad, line(3)])
    rc, out, err = run_cli(monkeypatch, capsys, ["decide", "--log", str(log)], stdin)
    assert rc == 2
    errors = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {message}"), err
    assert "Traceback" not in err
    kept = [json.loads(x)["clip"] for x in log.read_text().splitlines()]
    assert kept == ["c1"]  # the decision before the bad line stays; nothing after it
    assert len(out.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "dev1", "--log", "{tmp}/missing.jsonl"], "no decision log here"),
        (["decide", "--log", "{tmp}/no/such/dir/log.jsonl"], "does not exist"),
        (["decide", "--log", "{tmp}/log.jsonl", "--config", "{tmp}/nope.yaml"], "no such config"),
        (["list", "dev1"], "required: --log"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_cli_bad_arguments(monkeypatch, capsys, tmp_path, args, message):
    args = [a.format(tmp=tmp_path) for a in args]
    rc, _, err = run_cli(monkeypatch, capsys, args, line(1))
    assert rc == 2
    assert len(err.strip().splitlines()) == 1 and message in err, err


def test_cli_config_and_policy_errors_are_one_line(monkeypatch, capsys, tmp_path):
    cfg = tmp_path / "escalate.yaml"
    cfg.write_text(CONFIG.read_text().replace("max_total: 50", "max_total: -4"))
    rc, _, err = run_cli(monkeypatch, capsys, ["decide", "--log", str(tmp_path / "l")], line(1))
    assert rc == 0
    rc, _, err = run_cli(
        monkeypatch, capsys, ["decide", "--log", str(tmp_path / "l"), "--config", str(cfg)], ""
    )
    assert rc == 2 and err.strip() == "error: max_total=-4: must be an integer >= 0"


def test_cli_as_a_module(tmp_path):
    """The real entry point: ``python -m redaction.escalate`` with stdin, and its exit codes."""
    env = {**os.environ, "SOTTOVOCE_ESCALATE_KEY": KEY}
    log = str(tmp_path / "log.jsonl")
    cmd = [sys.executable, "-m", "redaction.escalate"]
    ok = subprocess.run(
        [*cmd, "decide", "--log", log, "--config", str(CONFIG)],
        input=line(1) + "\n" + line(2, confidence=2) + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert ok.returncode == 2
    assert (
        ok.stderr.strip().splitlines()[-1] == "error: stdin line 2: confidence 2 is outside [0, 1]"
    )
    assert "Traceback" not in ok.stderr
    listed = subprocess.run(
        [*cmd, "list", "dev1", "--log", log], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert listed.returncode == 0 and "low_confidence" in listed.stdout
