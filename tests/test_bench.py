"""``python -m experiments.bench``: the registry, the rows read from small hand-written JSONs, the
report, the runner on stand-in commands (``python -m json.tool``), and the command line.

No benchmark runs here: every figure comes from the fixtures below.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.bench import rows as R
from experiments.bench.__main__ import Runner
from experiments.bench.registry import (
    BENCHMARKS,
    BY_NAME,
    PREREQUISITES,
    RESULTS_DIR,
    ROOT,
    STORED_GPU,
    Benchmark,
    Prerequisite,
)
from experiments.bench.report import Outcome, RunInfo, fmt, number, render


def _asr_system(robotic: float, rtf: float) -> dict:
    group = {"clips": 10, "words": 80, "wer": robotic, "cer": robotic / 2}
    groups = {
        "robotic": group,
        "natural": {**group, "wer": 0.1},
        "real_silver": {**group, "wer": 0.5},
    }
    return {
        "groups": groups,
        "rtf_one_thread": rtf,
        "parameters_trained": 1,
        "parameters_frozen": 0,
    }


def _pii(labels: dict[str, tuple[int, int, int]], over: float) -> dict:
    """labels: name -> (true positive, predicted, gold) words."""
    style = {
        "labels": {
            name: {
                "precision": tp / pred if pred else None,
                "recall": tp / gold if gold else None,
                "gold_words": gold,
                "predicted_words": pred,
            }
            for name, (tp, pred, gold) in labels.items()
        },
        "over_masking": over,
        "pii_free_requests": 40,
    }
    return {"split": "test", "n": 50, "seed": 0, "spoken": style, "written": style}


def _federated_row(setting: str, privacy: str | None, after: float, central: float) -> dict:
    row = {"setting": setting, "local_after": {"target": {"frr": after}}}
    row["central_after"] = {"frr_at_target": central}
    if privacy is not None:  # a federated run, not the central reference
        row.update(privacy=privacy, devices=10, rounds_run=3, epsilon=7.99)
        row["local_before"] = {"target": {"frr": 0.9}}
    return row


def _anonymization_row(method: str, eer: float, wer: float) -> dict:
    eers = {f"{a}_{s}": eer for a in R.ATTACKERS for s in R.SCENARIOS}
    return {"method": method, **eers, "whisper_wer": wer, "ours_wer": wer}


def _train(gpu: str | None, devices: dict[str, float]) -> dict:
    results = [
        {
            "model": "kws_small",
            "device": d,
            "threads": 2,
            "clips_per_second": v,
            "train_clips_per_epoch": 450,
        }
        for d, v in devices.items()
    ]
    return {"corpus": "gpubench-x", "epochs": 3, "host": {"gpu": gpu}, "results": results}


# Each benchmark's JSONs, in the order of its outputs.
FIXTURES: dict[str, list] = {
    "asr": [
        {
            "real_recordings": {"beckett": 10.0},
            "systems": {
                "whisper-head": _asr_system(0.08, 0.05),
                "pocketsphinx": _asr_system(0.28, 0.33),
                "whisper-tiny.en": _asr_system(0.22, 0.24),
            },
        }
    ],
    "kws": [
        {
            "positives": 10,
            "stream_hours": 1.0,
            "target_fa_per_hour": 0.5,
            "results": {
                "sottovoce": {"frr_at_target": 0.2, "cpu_seconds_per_audio_second": 0.001},
                "openwakeword": {"frr_at_target": 0.4, "cpu_seconds_per_audio_second": 0.04},
            },
        }
    ],
    "pii_text": [
        {
            "detector": "sottovoce",
            **_pii({"PERSON": (9, 10, 10), "PHONE_NUMBER": (10, 10, 10)}, 0.0),
        },
        {
            "detector": "Presidio 2.2 (en_core_web_sm)",
            **_pii({"PERSON": (4, 5, 10), "PHONE_NUMBER": (0, 0, 10), "URL": (0, 5, 0)}, 0.4),
        },
    ],
    "redaction_audio": [
        {
            "clips": 120,
            "pii_clips": 100,
            "withheld_share": 0.02,
            "leak_rate_redacted": 0.01,
            "leak_rate_original": 0.75,
            "leaks": {
                "redacted": {"clips": 100, "any": 1, "whisper": 1},  # pocketsphinx never hit
                "original": {"clips": 20, "any": 15, "whisper": 12, "pocketsphinx": 10},
            },
        }
    ],
    "anonymization": [
        {
            "clips": 60,
            "evaluation_speakers": ["a", "b"],
            "training_speakers": ["c"],
            "trials_per_method": 100,
            "wer_clips": 20,
            "rows": [
                _anonymization_row("none", 0.05, 0.2),
                _anonymization_row("mcadams", 0.2, 0.35),
                _anonymization_row("pseudo", 0.3, 0.25),
            ],
        }
    ],
    "federated": [
        {
            "rows": [
                _federated_row("none", "none", 0.8, 0.1),
                _federated_row("user_dp:8", "user_dp", 0.85, 0.12),
                {**_federated_row("central", None, 0.7, 0.05), "epochs": 12},
            ]
        }
    ],
    "dp_step": [
        {
            "threads": 1,
            "results": [
                {
                    "task": "kws",
                    "parameters": 100,
                    "batch": 8,
                    "modes": {"non-private": {"median_s": 0.05}, "hooks": {"median_s": 0.1}},
                    "errors": {"ghost": "NotImplementedError: no criterion"},
                }
            ],
        }
    ],
    "train_throughput": [_train(None, {"cpu": 100.0})],
    "train_throughput_gpu": [_train("NVIDIA H100", {"cpu": 100.0, "cuda": 1500.0})],
    "synth": [
        [
            {
                "voice": "flite-rms",
                "audio_seconds": 80.0,
                "engine_x_realtime": 50.0,
                "clip_x_realtime": 40.0,
                "clip_times_x_realtime": 25.0,
            }
        ]
    ],
}

# name -> rows expected, and one of them: (measure, ours, peer value, ratio)
EXPECTED = {
    "asr": (8, ("WER, held-out robotic voices", 0.08, 0.28, 0.08 / 0.28)),
    "kws": (2, ("CPU time per audio second, 1 thread", 0.001, 0.04, 0.025)),
    "pii_text": (6, ("micro recall, words", 19 / 20, 4 / 20, 4.75)),
    "redaction_audio": (3, ("leak rate, pocketsphinx listening", 0.0, 0.5, 0.0)),
    "anonymization": (16, ("EER, SpeakerNet, semi attacker", 0.3, 0.2, 1.5)),
    "federated": (6, ("devices' FRR gain over the starting model", 0.05, 0.1, 0.5)),
    "dp_step": (1, ("median step, Opacus hooks", 0.1, 0.05, 2.0)),
    "train_throughput": (1, ("kws_small, 2 threads, fp32", 100.0, None, None)),
    "train_throughput_gpu": (1, ("kws_small, mixed precision", 1500.0, 100.0, 15.0)),
    "synth": (2, ("clips with word times, audio s per wall s", 25.0, 50.0, 0.5)),
}


def _write(results: Path, names: list[str]) -> None:
    for name in names:
        for path, doc in zip(BY_NAME[name].files(results), FIXTURES[name], strict=True):
            path.write_text(json.dumps(doc))


def test_registry_is_complete():
    assert set(FIXTURES) == set(BY_NAME) == set(EXPECTED)  # every benchmark has a fixture
    for b in BENCHMARKS:
        assert b.what and b.peers and b.minutes > 0 and callable(b.rows) and callable(b.sizes)
        assert b.outputs and all(o.endswith(".json") for o in b.outputs), b.name
        assert set(b.prerequisites) <= set(PREREQUISITES), b.name
        for cmd in b.commands:
            module = ROOT / Path(*cmd[0].split("."))
            assert module.with_suffix(".py").is_file() or (module / "__main__.py").is_file()
            fill = dict.fromkeys(b.prerequisites, "X")  # every {placeholder} is a prerequisite
            assert all(isinstance(arg.format_map(fill), str) for arg in cmd)
    for pre in PREREQUISITES.values():
        assert pre.what and (not pre.make or pre.minutes > 0)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_rows_from_fixture_json(name):
    bench = BY_NAME[name]
    count, (measure, ours, peer, ratio) = EXPECTED[name]
    rows = bench.rows(*FIXTURES[name])
    assert len(rows) == count
    row = next(r for r in rows if r.measure == measure)
    assert row.ours == pytest.approx(ours)
    assert (row.peer_value, row.ratio) == (
        (None, None) if peer is None else pytest.approx((peer, ratio))
    )
    assert all(r.better in ("lower", "higher") and r.unit for r in rows)
    assert all(r.gpu == bench.needs_cuda for r in rows)
    assert bench.sizes(*FIXTURES[name])


def test_zero_peer_gives_no_ratio():
    assert R.Row("a", "m", 0.1, "p", 0.0, "lower", "%").ratio is None
    assert R.Row("a", "m", 0.0, "p", 0.4, "lower", "%").ratio == 0.0


def test_formats():
    assert number(3836.4) == "3,836" and number(0.0479) == "0.0479" and number(38.5) == "38.5"
    assert fmt(0.5, "%") == "50.0%" and fmt(-0.03, "pts") == "-3.0 pts"
    assert fmt(None, "%") == "-" and fmt(0.25, "s") == "0.250 s"


def _run(outcomes: dict[str, Outcome]) -> RunInfo:
    machine = {"CPU": "Test CPU, 2 cores visible", "GPU": "none"}
    return RunInfo("2026-01-01", "abc1234", "python -m experiments.bench", machine, outcomes)


def test_report_has_every_figure_with_its_ratio(tmp_path):
    _write(tmp_path, list(FIXTURES))
    text = render(_run({n: Outcome("ran", seconds=60) for n in FIXTURES}), tmp_path)
    assert "- Commit: abc1234" in text and "Test CPU, 2 cores visible" in text
    robotic = "| recognizer (whisper-head) | WER, held-out robotic voices | 8.0% | pocketsphinx 5.1.1 | 28.0% | 0.286 | lower |"
    assert robotic in text
    assert "| 0.0250 | lower |" in text  # kws CPU time against openWakeWord
    assert "**[GPU]**" in text and "Measured by this run" in text  # CUDA rows, marked
    assert "ran in 1.0 min" in text and "FAILED" not in text
    assert text.count("### ") == len(BENCHMARKS)


def test_failed_missing_and_skipped_are_shown(tmp_path):
    outcomes = {
        "asr": Outcome("failed", "RuntimeError: boom", 3.0),
        "pii_text": Outcome("skipped", "--skip"),
        "synth": Outcome("ran", seconds=5),  # but its JSON is not there
        "dp_step": Outcome("failed", "steps: 40%|####  | 4/10"),  # a progress bar's last line
        "kws": Outcome("missing prerequisite", "outputs/kws-jarvis/best.pt"),
        "federated": Outcome("ran", seconds=5),
    }
    (tmp_path / "federated_kws.json").write_text("[1, 2]")  # not the shape it reads
    text = render(_run(outcomes), tmp_path)
    assert "| asr | **FAILED**: RuntimeError: boom |" in text
    assert "| kws | not run: missing prerequisite (outputs/kws-jarvis/best.pt) |" in text
    assert "| pii_text | skipped (--skip) |" in text
    assert (
        "| synth | **FAILED**: no JSON: experiments/bench/results/synth_throughput.json |" in text
    )
    assert "| dp_step | **FAILED**: steps: 40%\\|####  \\| 4/10 |" in text
    assert "| federated | **FAILED**: JSON unreadable (" in text
    assert "| anonymization | not run |" in text


def test_stored_gpu_figures_are_marked_as_stored(tmp_path):
    stored = {**FIXTURES["train_throughput_gpu"][0], "date": "2026-01-02"}
    stored["host"] = {"gpu": "NVIDIA H200", "cpu": "Xeon", "cpu_count": 16, "torch": "2.11"}
    (tmp_path / STORED_GPU).write_text(json.dumps(stored))
    text = render(
        _run({"train_throughput_gpu": Outcome("no CUDA", "no CUDA device here")}), tmp_path
    )
    assert "## GPU (NVIDIA H200), measured on 2026-01-02, stored, not rerun by this command" in text
    assert "not run: no CUDA (no CUDA device here)" in text
    assert "| 15.0 | higher |" in text


def test_run_record_round_trip(tmp_path):
    run = _run({"asr": Outcome("failed", "boom", 1.5), "kws": Outcome("ran", seconds=2.0)})
    run.save(tmp_path / "run.json")
    assert RunInfo.load(tmp_path / "run.json") == run


# -- the runner, on python -m json.tool (it copies a JSON file, or fails on a missing one) -----


def _bench(name: str, *cmds: tuple[str, ...], needs: tuple[str, ...] = ()) -> Benchmark:
    return Benchmark(name, "w", "p", cmds, (f"{name}.json",), R.kws_rows, R.kws_sizes, 0.1, needs)


@pytest.fixture
def src(tmp_path) -> str:
    (tmp_path / "src.json").write_text('{"a": 1}')
    return str(tmp_path / "src.json")


def test_runner_runs_and_logs(tmp_path, src):
    out = str(tmp_path / "copy.json")
    outcome = Runner(reuse=False, cuda=False, results=tmp_path).run(
        _bench("copy", ("json.tool", src, out))
    )
    assert outcome.status == "ran" and outcome.seconds is not None
    assert "$ python -m json.tool" in (tmp_path / "copy.log").read_text()


def test_runner_failure_gives_the_log_last_line(tmp_path, src):
    runner = Runner(reuse=False, cuda=False, results=tmp_path)
    failed = runner.run(_bench("bad", ("json.tool", str(tmp_path / "absent.json"))))
    assert failed.status == "failed" and "absent.json" in failed.detail
    silent = runner.run(_bench("silent", ("json.tool", src)))  # prints, writes nothing
    assert (silent.status, silent.detail) == ("failed", "silent.json was not written")


def test_runner_reuse_and_cuda(tmp_path, src):
    (tmp_path / "kept.json").write_text("{}")
    kept = _bench("kept", ("json.tool", str(tmp_path / "absent.json")))
    assert Runner(reuse=True, cuda=False, results=tmp_path).run(kept).status == "reused"
    gpu = Benchmark(
        "g", "w", "p", (("json.tool",),), ("g.json",), R.kws_rows, R.kws_sizes, 1, needs_cuda=True
    )
    assert Runner(reuse=False, cuda=False, results=tmp_path).run(gpu).status == "no CUDA"


def test_runner_makes_prerequisites_once(tmp_path, src, monkeypatch):
    made = tmp_path / "made.json"
    good = Prerequisite(
        "a stand-in corpus", lambda: made, make=("json.tool", src, str(made)), minutes=1
    )
    bad = Prerequisite(
        "broken", lambda: tmp_path / "never.json", make=("json.tool", "/absent"), minutes=1
    )
    monkeypatch.setitem(PREREQUISITES, "good", good)
    monkeypatch.setitem(PREREQUISITES, "bad", bad)
    runner = Runner(reuse=False, cuda=False, results=tmp_path)
    use = ("json.tool", "{good}", str(tmp_path / "uses.json"))
    assert runner.run(_bench("uses", use, needs=("good",))).status == "ran"
    assert made.is_file()
    first = runner.run(_bench("b1", use, needs=("bad",)))
    second = runner.run(_bench("b2", use, needs=("bad",)))
    assert first.status == second.status == "failed" and "making bad failed" in second.detail
    assert (tmp_path / "b2.log").read_text() == ""  # not tried again


# -- the command line -----------------------------------------------------------------------


CLI = [sys.executable, "-m", "experiments.bench"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_unknown_name_is_one_line_error():
    proc = _cli("--only", "nope")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "unknown benchmark 'nope'" in proc.stderr


def test_list_and_dry_run_run_nothing():
    before = sorted(RESULTS_DIR.iterdir())
    listed = _cli("--list")
    assert listed.returncode == 0 and all(b.name in listed.stdout for b in BENCHMARKS)
    dry = _cli("--dry-run", "--only", "synth", "pii_text")
    assert dry.returncode == 0, dry.stderr
    assert "[1/2] pii_text" in dry.stdout and "[2/2] synth" in dry.stdout
    assert "python -m experiments.bench.synth_throughput --sentences 20" in dry.stdout
    assert sorted(RESULTS_DIR.iterdir()) == before  # no log, no JSON, no record


def test_a_json_without_a_date_is_dated_by_its_commit_not_its_checkout_time(tmp_path):
    from experiments.bench.report import written

    # tracked and unmodified in this repository: the commit that stored it
    stored = ROOT / "experiments/bench/results/train_throughput_nvidia-h200.json"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", str(stored)], cwd=ROOT, capture_output=True
    )
    if dirty.returncode != 0 or dirty.stdout.strip():
        pytest.skip("not a clean git checkout of that file")
    committed = subprocess.run(
        ["git", "log", "-1", "--format=%cs", "--", str(stored)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    doc = json.loads(stored.read_text())
    expected = str(doc["date"]) if doc.get("date") else f"{committed}, committed"
    assert written(stored) == expected
    # outside the repository: the file's own time, said so
    loose = tmp_path / "x.json"
    loose.write_text("{}")
    assert written(loose).endswith(", file time")
    # its own date field wins
    loose.write_text('{"date": "2026-01-02"}')
    assert written(loose) == "2026-01-02"


def test_the_federated_rows_say_whether_epsilon_covers_the_round_choice():
    dp = _federated_row("user_dp:8", "user_dp", 0.85, 0.0)
    runs = [_federated_row("none", "none", 0.8, 0.0), dp]
    assert "round choice" not in R.federated_rows({"rows": runs})[0].area
    dp["selection"] = {"round": 2, "covered_by_epsilon": True}
    assert R.federated_rows({"rows": runs})[0].area.endswith("ε=7.99 (round choice included)")
    dp["selection"]["covered_by_epsilon"] = False
    assert R.federated_rows({"rows": runs})[0].area.endswith("(round choice not in ε)")
