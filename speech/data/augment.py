"""Acoustics: simulated rooms, noise, SNR mixing and speed perturbation.

All randomness comes from a caller's ``numpy.random.Generator``, so every clip can be
regenerated from the seed and the settings recorded in its manifest line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from speech import SAMPLE_RATE
from speech.audio import resample
from speech.data.manifest import Word

NOISE_KINDS = ("white", "pink", "brown", "babble")


@dataclass
class RoomBank:
    """Room impulse responses: ``rirs[i]`` is (taps,) float32 for room ``room_of[i]``.

    Each room has several source positions; ``rt60[r]`` is the measured reverberation
    time (seconds) of room ``r``.
    """

    rirs: list[np.ndarray]
    room_of: np.ndarray
    rt60: np.ndarray
    dims: np.ndarray

    def positions(self, room: int) -> np.ndarray:
        return np.flatnonzero(self.room_of == room)

    def save(self, path) -> None:
        taps = max(len(r) for r in self.rirs)
        padded = np.stack([np.pad(r, (0, taps - len(r))) for r in self.rirs])
        np.savez_compressed(path, rirs=padded, room_of=self.room_of, rt60=self.rt60, dims=self.dims)

    @classmethod
    def load(cls, path) -> RoomBank:
        z = np.load(path)
        rirs = [np.trim_zeros(r, "b").astype(np.float32) for r in z["rirs"]]
        return cls(rirs, z["room_of"], z["rt60"], z["dims"])


def make_room_bank(n_rooms: int, positions: int, seed: int, *, max_order: int = 12) -> RoomBank:
    """Shoebox rooms of random size and absorption, ``positions`` talker spots each."""
    import pyroomacoustics as pra

    rng = np.random.default_rng(seed)
    rirs, room_of, rt60s, dims = [], [], [], []
    for r in range(n_rooms):
        size = rng.uniform([3.0, 3.0, 2.4], [8.0, 7.0, 3.2])
        target_rt60 = rng.uniform(0.15, 0.7)
        absorption, order = pra.inverse_sabine(target_rt60, size)
        room = pra.ShoeBox(
            size,
            fs=SAMPLE_RATE,
            materials=pra.Material(absorption),
            max_order=min(order, max_order),
        )
        mic = rng.uniform([0.5, 0.5, 0.8], size - [0.5, 0.5, 1.2])
        room.add_microphone(mic)
        for _ in range(positions):
            room.add_source(rng.uniform([0.4, 0.4, 1.0], size - [0.4, 0.4, 1.0]))
        room.compute_rir()
        for p in range(positions):
            rir = np.asarray(room.rir[0][p], dtype=np.float32)
            rirs.append(rir / (np.abs(rir).max() + 1e-9))
            room_of.append(r)
        rt60s.append(target_rt60)
        dims.append(size)
    return RoomBank(rirs, np.array(room_of), np.array(rt60s, dtype=np.float32), np.array(dims))


def coloured_noise(n: int, colour: str, rng: np.random.Generator) -> np.ndarray:
    """White, pink (1/f) or brown (1/f^2) noise, unit RMS, (n,) float32."""
    exponent = {"white": 0.0, "pink": 1.0, "brown": 2.0}[colour]
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    f[0] = f[1] if n > 1 else 1.0
    x = np.fft.irfft(spec / f ** (exponent / 2), n)
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)


def babble(
    n: int, sources: list[np.ndarray], rng: np.random.Generator, talkers: int = 4
) -> np.ndarray:
    """Several overlapping talkers from ``sources`` (random offsets, looped), unit RMS."""
    if not sources:
        return coloured_noise(n, "pink", rng)
    out = np.zeros(n, dtype=np.float32)
    for _ in range(talkers):
        src = sources[rng.integers(len(sources))]
        reps = int(np.ceil((n + len(src)) / len(src)))
        tiled = np.tile(src, reps)
        start = rng.integers(len(src))
        out += tiled[start : start + n] * rng.uniform(0.5, 1.0)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


def noise(
    n: int, kind: str, rng: np.random.Generator, babble_sources: list[np.ndarray]
) -> np.ndarray:
    if kind == "babble":
        return babble(n, babble_sources, rng)
    return coloured_noise(n, kind, rng)


def mix_at_snr(speech: np.ndarray, noise_: np.ndarray, snr_db: float) -> np.ndarray:
    """Add ``noise_`` scaled so that speech power / noise power = ``snr_db``.

    Speech power is measured over active samples (above -40 dB of the peak), so
    leading silence does not make the SNR look better than it sounds.
    """
    active = speech[np.abs(speech) > np.abs(speech).max() * 0.01] if speech.size else speech
    p_speech = float(np.mean(active**2)) if active.size else 0.0
    p_noise = float(np.mean(noise_**2)) + 1e-12
    scale = np.sqrt(p_speech / (p_noise * 10 ** (snr_db / 10)))
    return (speech + scale * noise_[: len(speech)]).astype(np.float32)


def reverberate(wave: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with a room response, aligned on its direct path, same length as input."""
    onset = int(np.argmax(np.abs(rir) > 0.5 * np.abs(rir).max()))
    wet = fftconvolve(wave, rir[onset:])[: len(wave)]
    peak = np.abs(wet).max()
    return (wet * (np.abs(wave).max() / peak) if peak > 0 else wet).astype(np.float32)


def speed_perturb(
    wave: np.ndarray, words: list[Word], factor: float
) -> tuple[np.ndarray, list[Word]]:
    """Play ``factor`` times faster (pitch moves too, as in Kaldi's speed perturbation)."""
    if factor == 1.0:
        return wave, words
    out = resample(wave, round(SAMPLE_RATE * factor), SAMPLE_RATE)
    return out, [Word(w.w, round(w.start / factor, 3), round(w.end / factor, 3)) for w in words]


def pad(
    wave: np.ndarray, words: list[Word], lead: float, trail: float
) -> tuple[np.ndarray, list[Word]]:
    """Add ``lead``/``trail`` seconds of silence, shifting word times."""
    a, b = int(lead * SAMPLE_RATE), int(trail * SAMPLE_RATE)
    out = np.concatenate([np.zeros(a, np.float32), wave, np.zeros(b, np.float32)])
    return out, [Word(w.w, round(w.start + lead, 3), round(w.end + lead, 3)) for w in words]


def level(wave: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``wave`` scaled to a random peak between 0.2 and 0.9 (devices record at many levels)."""
    return wave * (rng.uniform(0.2, 0.9) / (np.abs(wave).max() + 1e-9))


def load_babble(corpus: str | os.PathLike) -> list[np.ndarray]:
    """The babble recordings a built corpus keeps in ``noise/babble.npz``."""
    z = np.load(Path(corpus) / "noise" / "babble.npz")
    return [z[k] for k in z.files]


def evaluation_noise(
    wave: np.ndarray, snr: float, rng: np.random.Generator, babble: list[np.ndarray]
) -> np.ndarray:
    """``wave`` with babble, pink, white or brown noise (drawn by ``rng``) at ``snr`` dB:
    the noisy test conditions every evaluation shares."""
    kind = str(rng.choice(["babble", "pink", "white", "brown"]))
    return mix_at_snr(wave, noise(len(wave), kind, rng, babble), snr)
