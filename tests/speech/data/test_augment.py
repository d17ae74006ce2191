"""Acoustics: SNR is what was asked, noise colours have the right slope, times follow speed."""

from __future__ import annotations

import numpy as np
import pytest

from speech.data import augment
from speech.data.manifest import Word


def _tone(seconds=1.0, f=440.0):
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_mix_at_snr(snr):
    rng = np.random.default_rng(0)
    speech = _tone()
    noise = augment.coloured_noise(len(speech), "white", rng)
    mixed = augment.mix_at_snr(speech, noise, snr)
    residual = mixed - speech
    measured = 10 * np.log10(np.mean(speech**2) / np.mean(residual**2))
    assert measured == pytest.approx(snr, abs=0.2)


def test_noise_colours_have_their_slope():
    rng = np.random.default_rng(1)
    slopes = {}
    for colour in ("white", "pink", "brown"):
        x = augment.coloured_noise(2**16, colour, rng)
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / 16000)
        band = (f > 100) & (f < 4000)
        slopes[colour] = np.polyfit(np.log10(f[band]), np.log10(spec[band]), 1)[0]
        assert np.sqrt(np.mean(x**2)) == pytest.approx(1.0, rel=1e-3)
    assert slopes["white"] == pytest.approx(0, abs=0.2)
    assert slopes["pink"] == pytest.approx(-1, abs=0.2)
    assert slopes["brown"] == pytest.approx(-2, abs=0.2)


def test_speed_perturb_scales_duration_and_times():
    wave = _tone(2.0)
    words = [Word("a", 0.5, 1.0)]
    out, moved = augment.speed_perturb(wave, words, 1.1)
    assert len(out) / 16000 == pytest.approx(2.0 / 1.1, abs=0.01)
    assert moved[0].start == pytest.approx(0.5 / 1.1, abs=1e-3)


def test_pad_shifts_times():
    out, moved = augment.pad(_tone(1.0), [Word("a", 0.1, 0.2)], 0.25, 0.5)
    assert len(out) == 16000 + 4000 + 8000
    assert (moved[0].start, moved[0].end) == (0.35, 0.45)


def test_room_bank_roundtrip(tmp_path):
    bank = augment.make_room_bank(3, 2, seed=0, max_order=6)
    assert len(bank.rirs) == 6 and list(bank.positions(1)) == [2, 3]
    bank.save(tmp_path / "rooms.npz")
    again = augment.RoomBank.load(tmp_path / "rooms.npz")
    assert np.allclose(again.rirs[0][: len(bank.rirs[0])], bank.rirs[0])
    wet = augment.reverberate(_tone(), bank.rirs[0])
    assert wet.shape == (16000,) and np.abs(wet).max() == pytest.approx(0.5, rel=1e-3)


def test_babble_from_sources_and_fallback():
    rng = np.random.default_rng(0)
    b = augment.babble(8000, [_tone(0.3, 200), _tone(0.2, 300)], rng)
    assert b.shape == (8000,) and np.sqrt(np.mean(b**2)) == pytest.approx(1.0, rel=1e-3)
    assert augment.babble(100, [], rng).shape == (100,)
