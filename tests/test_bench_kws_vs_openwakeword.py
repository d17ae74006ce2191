"""The wake-word benchmark's operating points (the peer itself is not needed for these)."""

import numpy as np

from experiments.bench.kws_vs_openwakeword import _operating_point
from speech.kws.evaluate import FA_TARGETS, THRESHOLDS


def test_operating_point_reads_the_det_curve_at_each_false_accept_rate():
    # Over 2 h: false accepts fall from 40 at the lowest threshold to none above the middle one.
    n = len(THRESHOLDS)
    fa_counts = np.where(np.arange(n) < n // 2, 40.0, 0.0)
    fa_counts[n // 2 - 1] = 1.0  # 0.5 FA/h just below the middle
    fa_counts[n // 2 - 2] = 8.0  # 4 FA/h
    pos = np.array([THRESHOLDS[n // 2 - 2], THRESHOLDS[n // 2 - 1], 1.0, 1.0])
    op = _operating_point(pos, fa_counts, hours=2.0, target=0.5)
    assert op["threshold"] == float(THRESHOLDS[n // 2 - 1])
    assert op["fa_per_hour"] == 0.5 and op["frr"] == 0.25  # the clip just below is rejected
    at = op["frr_at_fa_per_hour"]
    assert set(at) == {str(t) for t in FA_TARGETS}
    assert at["0.5"] == at["1.0"] == 0.25
    assert at["5.0"] == at["10.0"] == 0.0  # 4 FA/h lets the lowest positive through


def test_no_threshold_within_the_target_rejects_everything():
    fa_counts = np.full(len(THRESHOLDS), 10.0)
    op = _operating_point(np.ones(3), fa_counts, hours=1.0, target=0.5)
    assert op["frr"] == 1.0 and op["fa_per_hour"] is None
    assert op["frr_at_fa_per_hour"]["0.5"] == 1.0
    assert op["frr_at_fa_per_hour"]["10.0"] == 0.0
