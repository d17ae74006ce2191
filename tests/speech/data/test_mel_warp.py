"""Vocal-tract-length perturbation on log-mel features."""

from __future__ import annotations

import torch

from speech.data.features import mel_warp


def test_identity_and_direction():
    x = torch.zeros(2, 3, 40)
    x[:, :, 20] = 1.0
    assert torch.allclose(mel_warp(x, torch.ones(2)), x)
    out = mel_warp(x, torch.tensor([1.25, 0.8]))
    assert out[0, 0].argmax() == 16  # factor > 1: energy moves to lower bands
    assert out[1, 0].argmax() == 25
    assert out.shape == x.shape and torch.isfinite(out).all()
