"""Voice anonymization: both methods transform the voice, keep the length, and fail closed."""

from __future__ import annotations

import numpy as np
import pytest

from redaction.anonymize import (
    AnonymizationError,
    Anonymizer,
    PseudoVoice,
    mcadams,
)

SR = 16000


def _voice(f0: float = 120.0, seconds: float = 1.0) -> np.ndarray:
    """A vowel-like buzz: harmonics of ``f0`` shaped by two formants, with a little noise."""
    t = np.arange(int(SR * seconds)) / SR
    x = sum(
        np.sin(2 * np.pi * k * f0 * t)
        * (np.exp(-(((k * f0 - 700) / 150) ** 2)) + 0.5 * np.exp(-(((k * f0 - 1200) / 200) ** 2)))
        for k in range(1, 40)
    )
    x = x + 0.01 * np.random.default_rng(0).standard_normal(len(t))
    return (0.5 * x / np.max(np.abs(x))).astype(np.float32)


def _centroid(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    return float((spec * freqs).sum() / spec.sum())


def _f0(x: np.ndarray) -> float:
    """The strongest autocorrelation lag between 60 and 400 Hz."""
    seg = x[: SR // 2].astype(np.float64)
    ac = np.correlate(seg, seg, "full")[len(seg) - 1 :]
    lo, hi = SR // 400, SR // 60
    return SR / (lo + int(np.argmax(ac[lo:hi])))


@pytest.mark.parametrize("method", ["mcadams", "pseudo"])
def test_the_voice_changes_and_the_clip_keeps_its_length(method):
    x = _voice()
    y = Anonymizer(method)(x, key="clip-1")
    assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
    assert np.max(np.abs(y)) <= np.max(np.abs(x)) + 1e-6
    assert abs(_centroid(y) - _centroid(x)) > 50 or abs(_f0(y) - _f0(x)) > 10


def test_mcadams_alpha_one_changes_nothing_but_the_level():
    x = _voice()
    y = mcadams(x, alpha=1.0)
    core = slice(SR // 10, -SR // 10)  # the first and last frames are half-windowed
    corr = np.corrcoef(x[core], y[core])[0, 1]
    assert corr > 0.99


def test_the_pseudo_voice_follows_its_key():
    a = Anonymizer("pseudo", secret="deployment")
    x = _voice()
    assert np.array_equal(a(x, key="clip-1"), a(x, key="clip-1"))
    assert a.voice("clip-1") != a.voice("clip-2")
    # the secret keys the draw: the same clip id elsewhere gives another voice
    assert Anonymizer("pseudo", secret="other").voice("clip-1") != a.voice("clip-1")


def _median_f0(x: np.ndarray) -> float:
    import pyworld as pw

    f0, t = pw.dio(x.astype(np.float64), SR, f0_floor=60.0, f0_ceil=500.0, frame_period=5.0)
    f0 = pw.stonemask(x.astype(np.float64), f0, t, SR)
    return float(np.median(f0[f0 > 0]))


def test_the_pseudo_voice_sets_the_register(tiny_corpus):
    """A corpus voice comes out in the pseudo-speaker's register, whatever its own."""
    from redaction.anonymize import pseudo
    from speech.audio import load_wav
    from speech.data.manifest import audio_path, read_manifest

    out, _ = tiny_corpus
    manifest = out / "manifest.jsonl"
    utt = next(u for u in read_manifest(manifest) if u.kind == "request" and u.duration > 1.5)
    x = load_wav(audio_path(manifest, utt))
    for target in (100.0, 220.0):
        voice = PseudoVoice(f0_hz=target, f0_spread=0.1, warp=1.12, tilt=(0.0,) * 6)
        got = _median_f0(pseudo(x, voice))
        assert abs(np.log(got / target)) < 0.15, (utt.speaker, _median_f0(x), target, got)


def test_voices_drawn_are_spread_and_never_leave_the_formants_in_place():
    rng = np.random.default_rng(0)
    voices = [PseudoVoice.draw(rng) for _ in range(200)]
    f0 = np.array([v.f0_hz for v in voices])
    assert f0.min() < 110 and f0.max() > 210
    assert all(abs(v.warp - 1) >= 0.08 for v in voices)


def test_fail_closed():
    x = _voice()
    x[100] = np.nan
    with pytest.raises(AnonymizationError, match="non-finite"):
        Anonymizer("pseudo")(x)
    silent = np.zeros(SR, np.float32)
    assert not np.any(Anonymizer("pseudo")(silent))
    assert Anonymizer("mcadams")(np.zeros(0, np.float32)).shape == (0,)
    with pytest.raises(ValueError, match="must be one of"):
        Anonymizer("robot")
    with pytest.raises(ValueError, match="alpha"):
        Anonymizer("mcadams", alpha=1.5)
