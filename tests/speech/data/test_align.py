"""The pocketsphinx aligner and recogniser give a clip the same answer whatever they heard before."""

from __future__ import annotations

import numpy as np
import pytest

from speech.data import align
from speech.data.voices import catalogue, synthesize

TEXTS = ["what is the weather like in boston today", "hey nova"]


@pytest.fixture(scope="module")
def clips():
    (voice,) = catalogue(["flite-rms-up3"])
    return [(s.wave, t) for s, t in zip(synthesize(voice, TEXTS), TEXTS, strict=True)]


def _earlier(other):
    noise = np.random.default_rng(0).normal(0, 0.05, other.size).astype(np.float32)
    return [other, other + noise, other * 0.1]  # another clip, a noisy one and a quiet one


def test_alignment_does_not_depend_on_earlier_clips(clips):
    (wave, text), (other, other_text) = clips
    align._decoder.cache_clear()  # a fresh decoder, as in a new worker process
    first = align.align(wave, text)
    assert first is not None and [w.w for w in first] == text.split()
    for before in _earlier(other):
        align.align(before, other_text)
        assert align.align(wave, text) == first


def test_recognition_does_not_depend_on_earlier_clips(clips):
    (wave, _), (other, _) = clips
    align._decoder.cache_clear()
    heard = align.recognize(wave)
    assert heard
    for before in _earlier(other):
        align.recognize(before)
        assert align.recognize(wave) == heard
