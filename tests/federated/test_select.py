"""Choosing the round a federated run returns, and the devices' validation part."""

from __future__ import annotations

import math

import pytest
import torch

from federated.data import local_part
from federated.select import RoundChoice


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
