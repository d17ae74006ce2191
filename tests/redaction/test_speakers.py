"""The speaker-verification attackers' scoring: EER, trials, the LDA back-end, SpeakerNet."""

from __future__ import annotations

import numpy as np
import pytest

from redaction.speakers import eer, embed, lda, train_speaker_net, trials


def test_eer():
    assert eer([0.9, 0.8, 0.7], [0.1, 0.2, 0.3]) == 0.0
    assert eer([0.1, 0.2], [0.8, 0.9]) == 1.0
    rng = np.random.default_rng(0)
    same = rng.normal(size=4000)
    assert eer(same[:2000], same[2000:]) == pytest.approx(0.5, abs=0.03)
    # two unit Gaussians two standard deviations apart: EER = Phi(-1) = 0.159
    assert eer(rng.normal(2, 1, 20000), rng.normal(0, 1, 20000)) == pytest.approx(0.159, abs=0.01)
    assert np.isnan(eer([], [0.1]))


def test_trials_score_every_clip_against_every_enrolled_speaker():
    enrol = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    test = np.array([[2.0, 0.0], [0.0, 3.0], [0.1, 1.0]])
    tgt, non = trials(enrol, ["a", "a", "b"], test, ["a", "b", "b"])
    assert len(tgt) == 3 and len(non) == 3
    assert min(tgt) > max(non)


def test_lda_projects_to_fewer_dimensions_and_keeps_classes_apart():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (4, 10))
    x = np.concatenate([c + rng.normal(0, 1, (30, 10)) for c in centres])
    labels = [str(i) for i in range(4) for _ in range(30)]
    w = lda(x, labels, dims=8)
    assert w.shape == (10, 3)  # at most classes - 1 directions
    z = x @ w
    tgt, non = trials(z[::2], labels[::2], z[1::2], labels[1::2])
    assert eer(tgt, non) < 0.05


def test_speaker_net_learns_to_tell_voices_apart():
    """Three buzzes at different pitches and timbres: the trained embedding separates them."""
    rng = np.random.default_rng(0)
    sr = 16000

    def clip(f0, bright):
        t = np.arange(int(sr * rng.uniform(1.0, 1.5))) / sr
        f = f0 * rng.uniform(0.97, 1.03)
        x = sum(np.sin(2 * np.pi * k * f * t) * bright**k for k in range(1, 20))
        return (0.3 * x / np.abs(x).max() + 0.01 * rng.standard_normal(len(t))).astype(np.float32)

    voices = {"a": (100, 0.5), "b": (160, 0.8), "c": (230, 0.6)}
    waves, speakers = [], []
    for name, (f0, bright) in voices.items():
        for _ in range(12):
            waves.append(clip(f0, bright))
            speakers.append(name)
    net = train_speaker_net(waves[::2], speakers[::2], epochs=8, seconds=0.8, batch=6)
    e = embed(net, waves[1::2])
    tgt, non = trials(e[::2], speakers[1::2][::2], e[1::2], speakers[1::2][1::2])
    assert eer(tgt, non) < 0.1
