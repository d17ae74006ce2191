"""Choosing the round a federated run returns, and the devices' validation part."""

from __future__ import annotations

import math

import pytest
import torch

from federated.data import local_part
from federated.select import RoundChoice, device_errors, noisy_mean


def _state(x: float) -> dict[str, torch.Tensor]:
    return {"w": torch.full((2,), x)}


def test_the_best_eligible_round_is_kept_and_ties_keep_the_earlier():
    choice = RoundChoice(max_central_loss=0.02, split="dev")
    choice.offer(0, 0.50, 0.10, _state(0))
    choice.offer(1, 0.40, 0.11, _state(1))  # better, central within the guard
    choice.offer(2, 0.30, 0.13, _state(2))  # better still, but central lost 3 points
    choice.offer(3, 0.40, 0.10, _state(3))  # ties round 1: the earlier stays
    assert choice.best.round == 1
    assert torch.equal(choice.state["w"], _state(1)["w"])
    assert [c.eligible for c in choice.candidates] == [True, True, False, True]
    s = choice.summary()
    assert s["round"] == 1 and s["guard_split"] == "dev" and len(s["candidates"]) == 4


def test_a_run_that_only_loses_returns_its_start_and_the_copy_is_not_a_view():
    choice = RoundChoice(max_central_loss=0.0)
    start = _state(0)
    choice.offer(0, 0.2, None, start)
    start["w"].add_(5)  # the caller's tensors move on; the kept copy does not
    for r in (1, 2):
        choice.offer(r, 0.3, None, _state(r))
    assert choice.best.round == 0 and torch.equal(choice.state["w"], _state(0)["w"])


def test_round_zero_first_and_it_needs_validation_clips():
    with pytest.raises(ValueError, match="round 0"):
        RoundChoice(0.02).offer(1, 0.2, None, _state(1))
    with pytest.raises(ValueError, match="local_val_share"):
        RoundChoice(0.02).offer(0, math.nan, None, _state(0))
    choice = RoundChoice(0.02)
    choice.offer(0, 0.2, None, _state(0))
    choice.offer(1, math.nan, None, _state(1))  # no validation clips answered: never chosen
    assert choice.best.round == 0


def test_the_validation_part_comes_from_train_and_leaves_test_alone():
    ids = [f"clip{i:04d}" for i in range(2000)]
    without = {i: local_part(i, 0.34) for i in ids}
    with_val = {i: local_part(i, 0.34, val_share=0.15) for i in ids}
    assert {i for i in ids if without[i] == "test"} == {i for i in ids if with_val[i] == "test"}
    val = [i for i in ids if with_val[i] == "val"]
    assert all(without[i] == "train" for i in val)
    assert 0.12 < len(val) / len(ids) < 0.18


def test_an_unscorable_round_and_a_guard_with_nothing_to_read():
    choice = RoundChoice(max_central_loss=0.0)
    choice.offer(0, 0.5, math.nan, _state(0))  # no central clips to guard with: no guard
    choice.unscorable(1)  # e.g. a collapsed round no threshold can calibrate
    choice.offer(2, 0.4, 0.9, _state(2))
    assert [c.eligible for c in choice.candidates] == [True, False, True]
    assert choice.best.round == 2


def test_a_margin_keeps_the_start_unless_a_round_beats_it_clearly():
    choice = RoundChoice(max_central_loss=1.0, margin=0.05, private=True)
    choice.offer(0, 0.50, None, _state(0))
    choice.offer(1, 0.47, None, _state(1))  # better, but by less than the margin
    assert choice.best.round == 0
    choice.offer(2, 0.44, None, _state(2))  # better by more than the margin
    choice.offer(3, 0.46, None, _state(3))  # clears the margin but not round 2
    assert choice.best.round == 2 and torch.equal(choice.state["w"], _state(2)["w"])
    s = choice.summary()
    assert s["private"] is True and s["margin"] == 0.05


def test_each_device_counts_once_with_its_error_bounded():
    kws = {
        "a": {"positives": 4, "rejected_0": 1},
        "b": {"positives": 1, "rejected_0": 1},
        "c": {"positives": 0, "rejected_0": 0},  # no validation positives: left out
    }
    assert device_errors(kws, "kws") == [0.25, 1.0]
    asr = {"a": {"words": 5, "word_errors": 9}, "b": {"words": 10, "word_errors": 2}}
    assert device_errors(asr, "asr") == [1.0, 0.2]  # insertions cannot push one past 1


def test_the_noisy_mean_has_the_sensitivity_of_one_device():
    import numpy as np

    errors = [0.2] * 50 + [0.6] * 50
    draws = [noisy_mean(errors, 2.0, np.random.default_rng(s)) for s in range(4000)]
    totals = np.array([d.total for d in draws])
    counts = np.array([d.count for d in draws])
    # standard deviation noise * sqrt(2) on each sum: one device moves (sum, count) by <= (1, 1)
    assert abs(totals.std() - 2.0 * math.sqrt(2)) < 0.15 and abs(counts.std() - 2.83) < 0.15
    assert abs(totals.mean() - 40.0) < 0.2 and abs(counts.mean() - 100.0) < 0.2
    means = np.array([d.mean for d in draws])
    assert abs(means.mean() - 0.4) < 0.005
    # the margin: one standard deviation of the difference of two such means
    diff = means[:2000] - means[2000:]
    assert abs(diff.std() - draws[0].difference_std) < 0.2 * draws[0].difference_std
    assert all(0.0 <= noisy_mean([], 1.0, np.random.default_rng(s)).mean <= 1.0 for s in range(20))
