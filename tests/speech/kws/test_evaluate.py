"""Wake-word evaluation: detection counting, the operating point and the report."""

from __future__ import annotations

import numpy as np
import torch

from speech.data.features import FeatureConfig
from speech.data.manifest import read_manifest
from speech.kws.evaluate import (
    THRESHOLDS,
    _checks,
    count_detections,
    evaluate_kws,
    false_accepts,
    first_within,
)
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
        "extra": {"wake_phrase": "hey nova", "smoothing": 5, "refractory": 1.0, "threshold": 0.5},
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

    # The stored threshold (0.5 is on the grid) is scored like that point of the DET curve.
    stored, i = report["at_model_threshold"], int(np.flatnonzero(np.isclose(THRESHOLDS, 0.5))[0])
    assert stored["threshold"] == 0.5
    assert stored["fa_per_hour"] == round(det["fa_per_hour"][i], 3)
    assert stored["false_accepts"] == round(det["fa_per_hour"][i] * report["stream_hours"])
    assert stored["frr"]["clean"] == round(det["frr_clean"][i], 4)


def test_held_out_threshold_is_chosen_on_even_chunks_and_counted_on_odd_ones():
    # Four 0.5 h chunks; the even ones' strongest negative is 0.95, an odd one holds a 0.97.
    scores = [np.zeros(100) for _ in range(4)]
    scores[0][10], scores[2][50], scores[3][70] = 0.95, 0.97, 0.97
    scores[1][20] = 0.97
    fa = [false_accepts(s, refractory_frames=10) for s in scores]

    def at(threshold, chunks):
        n = sum(count_detections(scores[i], threshold, 10) for i in chunks)
        return {"threshold": threshold, "false_accepts": n, "stream_hours": 0.5 * len(chunks)}

    out = _checks(at, fa, [0.5] * 4, stored=0.99, target=1.0)
    assert out["at_model_threshold"]["false_accepts"] == 0
    held = out["held_out_threshold"]
    # Chosen on chunks 0 and 2 (1 h, one false accept allowed): just above 0.95.
    assert held["chosen_on_hours"] == 1.0 and 0.95 < held["threshold"] <= 0.97
    assert held["false_accepts"] == 2  # the 0.97s in chunks 1 and 3
    assert "held_out_threshold" not in _checks(at, fa[:1], [0.5], stored=None, target=1.0)
