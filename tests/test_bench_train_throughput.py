"""The training-throughput bench on CPU: one small run, the report it writes, its errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from experiments.bench import train_throughput as bench


def test_cpu_run_writes_a_report_with_positive_throughput(tiny_corpus, tmp_path):
    corpus, _ = tiny_corpus
    report = bench.measure(
        corpus, devices=["cpu"], models=["kws_small"], epochs=2, threads=1, workers=0
    )
    path = bench.write_report(report, tmp_path, label="test")
    assert path == tmp_path / "train_throughput_test.json"
    saved = json.loads(path.read_text())
    assert saved["corpus"] == corpus.name and saved["epochs"] == 2
    assert saved["host"]["cpu_count"] >= 1 and saved["host"]["gpu"] is None
    assert saved["gpu_over_cpu"] == {}  # no ratio without both devices
    (row,) = saved["results"]
    assert (row["model"], row["task"], row["device"], row["amp"]) == (
        "kws_small",
        "kws",
        "cpu",
        False,
    )
    assert row["epochs"] == 2 and len(row["clips_per_second_per_epoch"]) == 2
    assert row["clips_per_second"] == row["clips_per_second_per_epoch"][1] > 0  # warm-up left out
    assert not row["warmup_included"]
    assert row["parameters"] > 0 and row["train_clips_per_epoch"] > 0 and row["threads"] == 1
    table = (tmp_path / "train_throughput_test.md").read_text()
    assert "| kws_small |" in table and "cpu clips/s" in table


def test_missing_corpus_says_how_to_build_one(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"speech\.data\.synth"):
        bench.measure(tmp_path / "nowhere", devices=["cpu"], models=["kws_small"])
    monkeypatch.setattr(
        sys, "argv", ["train_throughput", "--corpus", str(tmp_path), "--devices", "cpu"]
    )
    with pytest.raises(SystemExit, match="no corpus there"):
        bench.main()


def test_unknown_model_and_device_are_refused(tiny_corpus):
    corpus, _ = tiny_corpus
    with pytest.raises(ValueError, match="unknown model configs"):
        bench.measure(corpus, devices=["cpu"], models=["kws_huge"])
    with pytest.raises(ValueError, match="cpu and/or cuda"):
        bench.measure(corpus, devices=["tpu"], models=["kws_small"])


def test_repeat_lists_each_training_clip_r_times_and_multiplies_the_epoch(tiny_corpus, tmp_path):
    from speech.data.manifest import audio_path, read_manifest

    corpus, _ = tiny_corpus
    original = read_manifest(corpus / "manifest.jsonl")
    copy = bench.repeated_manifest(corpus, 3, tmp_path)
    utts = read_manifest(copy)
    n_train = sum(u.split == "train" for u in original)
    assert n_train and len(utts) == len(original) + 2 * n_train
    assert len({u.id for u in utts}) == len(utts)  # copies get their own ids
    assert all(Path(u.audio).is_absolute() and audio_path(copy, u).is_file() for u in utts)
    for split in ("dev", "test"):  # only training is repeated
        assert sum(u.split == split for u in utts) == sum(u.split == split for u in original)
    report = bench.measure(
        corpus,
        devices=["cpu"],
        models=["kws_small"],
        epochs=1,
        threads=1,
        workers=0,
        repeat={"cpu": 2},
    )
    (row,) = report["results"]
    assert report["repeat"] == {"cpu": 2} and row["repeat"] == 2
    train_kws = sum(
        u.split == "train" and u.kind in ("wake", "negative", "request") for u in original
    )
    assert row["train_clips_per_epoch"] == 2 * train_kws
    assert row["clips_per_second"] > 0 and row["warmup_included"] and row["spread"] == 0
    assert "cpu x2" in bench.markdown(report) and "| kws_small |" in bench.markdown(report)


def test_repeat_argument_is_checked(tiny_corpus):
    corpus, _ = tiny_corpus
    assert bench.parse_repeat("20") == 20
    assert bench.parse_repeat("cpu=1, cuda=20") == {"cpu": 1, "cuda": 20}
    with pytest.raises(ValueError, match="device=number"):
        bench.parse_repeat("cuda=lots")
    for bad in (0, {"cuda": 4}, {"cpu": 0}):
        with pytest.raises(ValueError, match="whole numbers >= 1"):
            bench.measure(corpus, devices=["cpu"], models=["kws_small"], repeat=bad)
