"""Cutting a long recording at its pauses, so that each piece decodes like a training clip.

The recognizer learnt from single requests of at most 12 s, each with a little silence
before and after. Given a longer recording that holds several requests it falls apart
(its absolute position encodings never saw such lengths, and its alignments never crossed
from one request into the next), so :class:`speech.asr.recognizer.Recognizer` first cuts
such a recording here and decodes the pieces one by one.

    for seg in split_at_pauses(wave, max_seconds=12.0):
        piece = wave[seg.start : seg.end]    # samples at speech.SAMPLE_RATE

The cut is energy-based (no model, nothing to download):

1. :func:`frame_energy_db`: the power of every 10 ms frame, in dB, smoothed over 30 ms.
2. :func:`speech_threshold_db`: frames louder than the background by a margin are speech;
   the background is estimated from the quietest frames, so the rule adapts to the level of
   the recording and of its noise.
3. :func:`speech_regions`: runs of speech frames, with the gaps inside words and between the
   words of one phrase (shorter than ``min_pause_seconds``) filled in, and isolated clicks
   dropped.
4. :func:`split_at_pauses`: one segment per region, padded with up to ``pad_seconds`` of the
   silence around it; neighbours meet at the quietest frame of the pause between them, so
   no segment starts or ends inside a word. A region longer than ``max_seconds`` (speech
   without a pause) is split at its quietest frame, again and again until every piece fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from speech import SAMPLE_RATE

HOP = SAMPLE_RATE // 100  # samples per frame: 10 ms
FLOOR_DB = -100.0  # power of digital silence, in dB re full scale
SILENCE_RMS = 1e-4  # about -80 dBFS: below it nothing is said


@dataclass(frozen=True)
class Segment:
    """Samples ``start`` (inclusive) to ``end`` (exclusive) of a recording at ``SAMPLE_RATE``."""

    start: int
    end: int

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / SAMPLE_RATE


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of ``x`` over ``width`` values (odd), edges averaged over fewer."""
    if width <= 1 or x.size == 0:
        return x
    half = width // 2
    c = np.concatenate([[0.0], np.cumsum(x, dtype=np.float64)])
    idx = np.arange(x.size)
    lo, hi = np.maximum(idx - half, 0), np.minimum(idx + half + 1, x.size)
    return ((c[hi] - c[lo]) / (hi - lo)).astype(np.float64)


def frame_energy_db(wave: np.ndarray, *, smooth_frames: int = 3) -> np.ndarray:
    """Power of each 10 ms frame in dB re full scale, smoothed over ``smooth_frames`` frames.

    Args:
        wave: (samples,) float audio at ``SAMPLE_RATE``, full scale 1.0.
        smooth_frames: width of the centred moving average of the power (odd), in frames.

    Returns:
        (frames,) float64 with ``frames = ceil(samples / HOP)``; frame ``i`` covers samples
        ``[i * HOP, (i + 1) * HOP)`` (the last one zero-padded), floored at ``FLOOR_DB``.
    """
    wave = np.asarray(wave, dtype=np.float64).reshape(-1)
    n = -(-wave.size // HOP)
    padded = np.zeros(n * HOP)
    padded[: wave.size] = wave
    power = _moving_average((padded.reshape(n, HOP) ** 2).mean(1), smooth_frames)
    return np.maximum(10 * np.log10(np.maximum(power, 1e-30)), FLOOR_DB)


def speech_threshold_db(
    energy_db: np.ndarray, *, margin_db: float = 12.0, dynamic_range_db: float = 45.0
) -> float:
    """The level above which a frame counts as speech, in dB re full scale.

    ``margin_db`` above the background (the 5th percentile of ``energy_db``, which is the
    noise floor wherever a recording pauses at all), but no lower than ``dynamic_range_db``
    under its loud frames (the 95th percentile), so that the tails of words in a clean
    recording do not bridge the pauses between them.

    Args:
        energy_db: (frames,) from :func:`frame_energy_db`.
        margin_db: how far speech stands above the background, in dB.
        dynamic_range_db: how far below the loud frames speech may still be, in dB.
    """
    floor, loud = np.percentile(energy_db, [5, 95])
    return float(max(floor + margin_db, loud - dynamic_range_db))


def speech_regions(
    is_speech: np.ndarray, *, min_pause_frames: int, min_speech_frames: int
) -> list[tuple[int, int]]:
    """Runs of speech frames, as ``(first, end)`` frame indices (``end`` exclusive).

    Args:
        is_speech: (frames,) bool.
        min_pause_frames: gaps shorter than this between two runs are filled (closures and
            the short breaks between the words of a phrase).
        min_speech_frames: runs shorter than this, after filling, are dropped (clicks).
    """
    flags = np.concatenate([[False], np.asarray(is_speech, dtype=bool), [False]])
    edges = np.flatnonzero(np.diff(flags.astype(np.int8)))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] < min_pause_frames:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return [(a, b) for a, b in merged if b - a >= min_speech_frames]


def _quietest(energy_db: np.ndarray, first: int, end: int, tolerance_db: float = 1.0) -> int:
    """The quietest frame in ``[first, end)``; among those within ``tolerance_db`` of it, the
    one nearest the middle (a pause of flat silence is cut in its centre, not at its edge)."""
    part = energy_db[first:end]
    candidates = np.flatnonzero(part <= part.min() + tolerance_db)
    middle = (part.size - 1) / 2
    return first + int(candidates[np.argmin(np.abs(candidates - middle))])


def _split_long(
    energy_db: np.ndarray, first: int, end: int, max_frames: int, min_piece_frames: int
) -> list[tuple[int, int]]:
    """``[first, end)`` cut at its quietest frames until no piece is longer than ``max_frames``;
    no cut lies within ``min_piece_frames`` of a piece's ends (when the piece allows)."""
    done, todo = [], [(first, end)]
    while todo:  # a stack, not recursion: hours of speech without a pause are many pieces
        a, b = todo.pop()
        if b - a <= max_frames:
            done.append((a, b))
            continue
        margin = min(min_piece_frames, (b - a) // 4)
        cut = _quietest(energy_db, a + margin, b - margin)
        todo += [(cut, b), (a, cut)]
    return done


def split_at_pauses(
    wave: np.ndarray,
    *,
    max_seconds: float = 12.0,
    min_pause_seconds: float = 0.3,
    pad_seconds: float = 0.2,
    min_speech_seconds: float = 0.05,
    margin_db: float = 12.0,
    dynamic_range_db: float = 45.0,
) -> list[Segment]:
    """Segments of ``wave`` to decode one by one: speech between pauses, with some silence.

    Args:
        wave: (samples,) float audio at ``SAMPLE_RATE``.
        max_seconds: no segment is longer; longer speech is cut at its quietest frame.
        min_pause_seconds: the shortest quiet stretch that separates two segments. At 0.3 s
            it bridges the pauses inside one request (under 0.2 s for the corpus's train and
            dev voices, up to about 0.35 s for the held-out festival voice) and parts
            requests a short pause apart (each clip adds about 0.1 s of silence after its
            last word and 0.2 s before its first).
        pad_seconds: silence kept before and after each stretch of speech (at most; half a
            short pause each side), as the training clips had.
        min_speech_seconds: shorter bursts standing alone are ignored.
        margin_db, dynamic_range_db: see :func:`speech_threshold_db`.

    Returns:
        Segments in order, not overlapping, each at most ``max_seconds`` long; none for
        silent audio. Audio that never rises above its own background (steady noise, or
        speech without a single pause) is treated as one stretch of speech.
    """
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    if max_seconds <= 0:
        raise ValueError(f"max_seconds must be positive, not {max_seconds}")
    if wave.size == 0 or float(np.sqrt(np.mean(np.square(wave, dtype=np.float64)))) < SILENCE_RMS:
        return []
    energy = frame_energy_db(wave)
    frames = energy.size
    threshold = speech_threshold_db(energy, margin_db=margin_db, dynamic_range_db=dynamic_range_db)
    regions = speech_regions(
        energy > threshold,
        min_pause_frames=max(1, round(min_pause_seconds * SAMPLE_RATE / HOP)),
        min_speech_frames=max(1, round(min_speech_seconds * SAMPLE_RATE / HOP)),
    )
    if not regions:
        regions = [(0, frames)]
    # Neighbouring regions meet at the quietest frame of the pause between them.
    cuts = [0] + [_quietest(energy, a[1], b[0]) for a, b in pairwise(regions)] + [frames]
    pad = round(pad_seconds * SAMPLE_RATE / HOP)
    max_frames = max(1, int(max_seconds * SAMPLE_RATE / HOP))
    pieces: list[tuple[int, int]] = []
    for i, (a, b) in enumerate(regions):
        # Padding comes out of the pause, and out of the maximum when the speech nearly fills it.
        spare = max(0, max_frames - (b - a))
        before = min(a - cuts[i], pad, spare // 2)
        after = min(cuts[i + 1] - b, pad, spare - before)
        pieces += _split_long(energy, a - before, b + after, max_frames, min_piece_frames=100)
    return [Segment(a * HOP, min(b * HOP, wave.size)) for a, b in pieces]
