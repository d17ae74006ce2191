"""Wake-word evaluation: detection counting, the operating point and the report."""

from __future__ import annotations

import numpy as np
import torch

from speech.data.features import FeatureConfig
from speech.data.manifest import read_manifest
from speech.kws.evaluate import THRESHOLDS, count_detections, evaluate_kws, first_within
from speech.kws.model import KWSModel


def test_count_detections_honours_the_refractory_period():
    scores = np.array([0, 0.9, 0.9, 0, 0, 0.9, 0, 0, 0, 0, 0.9])
    assert count_detections(scores, 0.5, refractory_frames=3) == 3
    assert count_detections(scores, 0.5, refractory_frames=5) == 2
    assert count_detections(scores, 0.95, refractory_frames=3) == 0


def test_operating_point_allows_for_rounding_in_the_hours():
    hours = 0.0
    for _ in range(24):  # 24 streams of 300 s: the float sum falls just short of 2 h
        hours += 300 / 3600
    fa_per_hour = np.array([3.0, 1.0, 0.0]) / hours
    assert fa_per_hour[1] > 0.5
    assert first_within(fa_per_hour, 0.5) == 1
    assert first_within(np.array([2.0, 1.0]), 0.5) is None


def test_evaluate_kws_reports_every_condition_and_speaker(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    torch.manual_seed(0)
    model = KWSModel(n_mels=40, channels=16, dilations=[1, 2, 4]).eval()
    meta = {
        "features": FeatureConfig(n_mels=40).asdict(),
        "extra": {"wake_phrase": "hey nova", "smoothing": 5, "refractory": 1.0},
    }
    report = evaluate_kws(model, meta, out, tmp_path, snrs=(5.0,), progress=False)
    test = [u for u in read_manifest(out / "manifest.jsonl") if u.split == "test"]
    positives = [u for u in test if u.kind == "wake" and u.text == "hey nova"]
    assert report["positives"] == len(positives) > 0
    assert report["stream_hours"] > 0
    op = report["operating_point"]
    assert set(op["frr"]) == {"clean", "5dB"}
    assert op["threshold"] in THRESHOLDS.round(5)
    assert sum(s["clips"] for s in report["per_speaker"].values()) == len(positives)
    assert {s for s in report["per_speaker"]} == {u.speaker for u in positives}
    det = report["det"]
    assert len(det["fa_per_hour"]) == len(det["frr_clean"]) == len(THRESHOLDS)
    assert np.all(np.diff(det["frr_clean"]) >= 0)  # a higher threshold rejects more
    assert np.all(np.diff(det["fa_per_hour"]) <= 0)
    assert (tmp_path / "report.json").is_file() and (tmp_path / "det.png").stat().st_size > 0
