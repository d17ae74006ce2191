"""experiments.kws_seeds: a recipe is judged on every seed's run, from the evaluation's own reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from experiments.kws_seeds import Run, frr_at, main, markdown, row, verdicts
from speech.checkpoint import save_checkpoint
from speech.data.features import FeatureConfig
from speech.kws.model import KWSModel


def test_run_names_need_a_recipe_and_a_seed():
    assert Run.parse("a/b/1=x.pt") == Run("a/b", "1", Path("x.pt"))
    for bad in ("accents=x.pt", "accents/1", "/1=x.pt", "accents/=x.pt", "accents/1="):
        with pytest.raises(ValueError, match="RECIPE/SEED=CHECKPOINT"):
            Run.parse(bad)


def test_frr_at_reads_the_det_curve_at_the_lowest_threshold_within_the_rate():
    report = {"det": {"fa_per_hour": [9.0, 4.0, 1.0, 0.5, 0.0], "frr_clean": [0, 0, 0.1, 0.3, 0.9]}}
    assert frr_at(report, 10.0) == 0.0
    assert frr_at(report, 5.0) == 0.0
    assert frr_at(report, 1.0) == 0.1
    assert frr_at(report, 0.5) == 0.3
    report["det"]["fa_per_hour"][-2:] = [0.7, 0.6]  # none reaches 0.5 FA/h: every positive lost
    assert frr_at(report, 0.5) == 1.0


def _row(recipe, seed, frr, corpus="test"):
    return {"recipe": recipe, "seed": seed, "corpus": corpus, "frr": {"0.5": frr}}


def test_a_recipe_meets_the_target_only_if_every_seed_does():
    rows = [
        _row("a", "0", 0.0),
        _row("a", "1", 0.366),
        _row("b", "0", 0.02),
        _row("b", "1", 0.05),
        _row("c", "0", 0.0),
        _row("b", "1", 0.9, corpus="check"),
    ]
    v = verdicts(rows, 0.05, "test")
    assert v["a"]["meets"] is False and v["a"]["mean_frr"] == pytest.approx(0.183)
    assert v["b"]["meets"] is True and v["b"]["seeds"] == ["0", "1"]
    assert v["c"]["meets"] is None  # one seed cannot show reliability
    assert verdicts(rows, 0.05, "check")["b"]["meets"] is None


def test_rows_carry_the_threshold_chosen_on_half_the_stream():
    report = {
        "positives": 10,
        "stream_hours": 2.0,
        "operating_point": {"threshold": 0.95},
        "det": {"fa_per_hour": [3.0, 0.5], "frr_clean": [0.0, 0.2]},
        "per_speaker": {"a": {"frr": 0.0}, "b": {"frr": 0.4}},
        "held_out_threshold": {
            "chosen_on_hours": 1.0,
            "threshold": 0.96,
            "stream_hours": 1.0,
            "false_accepts": 1,
            "fa_per_hour": 1.0,
            "frr": {"clean": 0.1, "5dB": 0.5},
        },
    }
    r = row(Run("x", "0", Path("x.pt")), "c", report)
    assert r["held_out"]["frr"] == 0.1 and r["held_out"]["false_accepts"] == 1
    assert r["failing_voices"] == {"b": 0.4}
    table = markdown([r], verdicts([r], 0.05, "c"), 0.05)
    assert "| 10.0%, 1 (1 in 1 h) |" in table
    del report["held_out_threshold"]  # one stream chunk: no half to choose on
    assert markdown([row(Run("x", "0", Path("x.pt")), "c", report)], {}, 0.05).count("| - |") == 1


def _checkpoint(path, seed):
    torch.manual_seed(seed)
    model = KWSModel(n_mels=40, channels=16, dilations=[1, 2, 4])
    return save_checkpoint(
        path,
        model,
        task="kws",
        model_args={"n_mels": 40, "channels": 16, "dilations": [1, 2, 4]},
        features=FeatureConfig(n_mels=40).asdict(),
        extra={"wake_phrase": "hey nova", "threshold": 0.5, "smoothing": 5, "refractory": 1.0},
    )


def test_main_tabulates_every_run_and_reuses_its_reports(tiny_corpus, tmp_path, capsys):
    corpus, _ = tiny_corpus
    runs = [f"tiny run/{s}={_checkpoint(tmp_path / f's{s}.pt', s)}" for s in (0, 1)]
    out = tmp_path / "seeds"
    args = [*runs, "--corpus", str(corpus), "--out", str(out), "--no-progress"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert [r["seed"] for r in summary["rows"]] == ["0", "1"]
    report = json.loads((out / corpus.name / "tiny_run-0" / "report.json").read_text())
    assert summary["rows"][0]["frr"]["0.5"] == frr_at(report, 0.5)
    assert summary["verdicts"][corpus.name]["tiny run"]["meets"] in (True, False)
    assert "| tiny run | 1 |" in printed and (out / "summary.md").read_text() == printed

    report_1 = out / corpus.name / "tiny_run-1" / "report.json"
    stamp = report_1.stat().st_mtime_ns
    assert main(args) == 0
    assert report_1.stat().st_mtime_ns == stamp  # same checkpoint files: reused
    old = json.loads(report_1.read_text())
    del old["operating_point"]["false_accepts"]  # a report from before commit 1e3f8df: redone
    report_1.write_text(json.dumps(old))
    assert main(args) == 0
    assert "false_accepts" in json.loads(report_1.read_text())["operating_point"]
    stamp = report_1.stat().st_mtime_ns

    _checkpoint(tmp_path / "s1.pt", 5)  # retrained in place: evaluated again
    assert main(args) == 0
    assert report_1.stat().st_mtime_ns != stamp
    other = str(_checkpoint(tmp_path / "other.pt", 1))  # same name, another file
    stamp = report_1.stat().st_mtime_ns
    assert main([runs[0], f"tiny run/1={other}", *args[2:]]) == 0
    assert report_1.stat().st_mtime_ns != stamp


def test_main_refuses_missing_corrupt_and_repeated_runs(tiny_corpus, tmp_path, capsys):
    corpus, _ = tiny_corpus
    with pytest.raises(SystemExit) as exc:
        main(["r/0=" + str(tmp_path / "none.pt"), "--corpus", str(corpus)])
    assert exc.value.code == 2 and "none.pt: not found" in capsys.readouterr().err

    good = str(_checkpoint(tmp_path / "good.pt", 0))
    with pytest.raises(SystemExit) as exc:
        main([f"r/0={good}", f"r/0={good}", "--corpus", str(corpus)])
    assert exc.value.code == 2 and "r/0 repeated" in capsys.readouterr().err

    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    out = ["--corpus", str(corpus), "--out", str(tmp_path / "o"), "--no-progress"]
    assert main([f"r/0={bad}", *out]) == 2
    assert "error: r/0 on" in capsys.readouterr().err
