"""Which candidate voices become speakers: intelligible and distinct, measured.

Each candidate reads a fixed calibration set. Intelligibility is pocketsphinx's word
accuracy (1 - WER) on it; distinctness is the cosine similarity of a simple voice
embedding (per-voice mean and standard deviation of MFCCs over voiced frames,
z-scored across all candidates). A base voice is kept when its accuracy reaches
``min_accuracy_base``, an altered copy when it reaches ``min_accuracy_altered``; and
neither may be more similar than ``max_similarity`` to a voice already kept (base
voices are considered first, in catalogue order). The gates are the same for every
engine: a Kokoro blend with another weight or pitch is an altered copy of its family's
base blend, and must be as intelligible and as distinct as a robotic voice's copy.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from speech.data import align
from speech.data.voices import Voice, synthesize

log = logging.getLogger(__name__)

CALIBRATION_SET = (
    "set a timer for ten minutes",
    "what is the weather like in boston tomorrow",
    "call the doctor and tell her i will be late",
    "turn off the lights in the kitchen",
    "play some jazz music in the living room",
    "remind me to buy milk this evening",
    "my phone number is five five five one two three four",
    "how long does it take to drive to chicago",
)

# Bumped when the measurement changes, so that a cached calibration made the old way is redone.
# 2: each sentence is recognised by a reset decoder (see speech.data.align), not one that has
# heard the sentences before it.
METHOD = 2


@dataclass
class VoiceReport:
    """Calibration figures of one candidate voice."""

    name: str
    family: str
    altered: bool
    word_accuracy: float
    seconds: float
    embedding: list[float]
    kept: bool = False
    max_similarity: float = 0.0
    reason: str = ""


def _measure(voice: Voice) -> VoiceReport | None:
    clips = synthesize(voice, list(CALIBRATION_SET))
    if any(c is None for c in clips):
        return None
    errors = words = 0
    for clip, ref in zip(clips, CALIBRATION_SET, strict=True):
        hyp = align.recognize(clip.wave)
        errors += align.word_errors(ref.split(), hyp.split())
        words += len(ref.split())
    wave = np.concatenate([c.wave for c in clips])
    return VoiceReport(
        name=voice.name,
        family=voice.family,
        altered=voice.altered,
        word_accuracy=round(max(0.0, 1 - errors / words), 3),
        seconds=round(len(wave) / 16000, 2),
        embedding=_embedding(wave),
    )


def _embedding(wave: np.ndarray) -> list[float]:
    import torch
    import torchaudio

    mfcc = torchaudio.transforms.MFCC(
        16000, n_mfcc=20, melkwargs={"n_mels": 40, "n_fft": 512, "hop_length": 160}
    )
    m = mfcc(torch.from_numpy(wave))[1:]  # drop c0 (loudness)
    energy = torch.from_numpy(wave[: (len(wave) // 160) * 160]).reshape(-1, 160).pow(2).mean(1)
    frames = min(m.shape[1], energy.numel())
    voiced = energy[:frames] > energy.max() * 1e-3
    m = m[:, :frames][:, voiced]
    return [round(float(x), 4) for x in torch.cat([m.mean(1), m.std(1)])]


def calibrate(voices: list[Voice], *, workers: int, cache: Path | None = None) -> list[VoiceReport]:
    """Measure every voice (in parallel); reuse ``cache`` when it holds the same voices."""
    # What the cached reports were measured from and how: reused only if all of it matches.
    made_from = {
        "voices": [v.as_dict() for v in voices],
        "calibration_set": list(CALIBRATION_SET),
        "method": METHOD,
    }
    if cache is not None and cache.exists():
        saved = json.loads(cache.read_text())
        if all(saved.get(k) == v for k, v in made_from.items()):
            return [VoiceReport(**r) for r in saved["reports"]]
    # spawn, not fork: _measure runs torch (the MFCC embedding), which can hang in a child forked
    # from a process whose torch thread pool has already run (a test suite, a notebook).
    ctx = get_context("spawn")
    with ProcessPoolExecutor(max_workers=max(1, workers), mp_context=ctx) as pool:
        measured = list(pool.map(_measure, voices))
    reports = []
    for voice, rep in zip(voices, measured, strict=True):
        if rep is None:
            log.warning("voice %s failed to synthesize the calibration set; skipped", voice.name)
            rep = VoiceReport(
                voice.name, voice.family, voice.altered, 0.0, 0.0, [], reason="synthesis failed"
            )
        reports.append(rep)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        payload = {**made_from, "reports": [asdict(r) for r in reports]}
        cache.write_text(json.dumps(payload, indent=1))
    return reports


def select(
    reports: list[VoiceReport],
    *,
    min_accuracy_base: float,
    min_accuracy_altered: float,
    max_similarity: float,
) -> list[VoiceReport]:
    """Mark which voices are kept (in catalogue order: base voices first within a family)."""
    ok = [r for r in reports if r.embedding]
    emb = np.array([r.embedding for r in ok])
    z = (emb - emb.mean(0)) / (emb.std(0) + 1e-9) if len(ok) > 1 else emb
    z /= np.linalg.norm(z, axis=1, keepdims=True) + 1e-9
    index = {r.name: i for i, r in enumerate(ok)}
    kept: list[int] = []
    for r in sorted(ok, key=lambda r: r.altered):
        i = index[r.name]
        r.max_similarity = round(float(max((z[i] @ z[k] for k in kept), default=0.0)), 3)
        need = min_accuracy_altered if r.altered else min_accuracy_base
        if r.word_accuracy < need:
            r.reason = f"word accuracy {r.word_accuracy:.2f} < {need:.2f}"
        elif r.max_similarity > max_similarity:
            r.reason = (
                f"too similar to a kept voice ({r.max_similarity:.2f} > {max_similarity:.2f})"
            )
        else:
            r.kept, r.reason = True, "kept"
            kept.append(i)
    return reports
