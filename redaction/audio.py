"""From spans to audio: time ranges through word times, bleeped audio, a masked transcript.

Every step fails closed. A span whose words have no times, or that points past the
transcript, raises (the pipeline then withholds the clip); nothing here ever hands back its
input unchanged as if it had been redacted. Inside a redacted range no sample of the
original survives: the fades that avoid clicks take place *outside* the range, in the
safety margin, and the replacement fades in and out inside it.

    ranges = time_ranges(spans, words, duration=len(wave) / SAMPLE_RATE)
    redacted = redact_audio(read_clip("clip.wav"), ranges, mode="bleep")
    text = mask_transcript(words, spans)  # "call [PERSON] at [PHONE_NUMBER]"
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from redaction.spans import Span

SAMPLE_RATE = 16000
"""The redaction path takes and returns mono float32 at this rate (Hz), as speech.audio does."""

MODES = ("bleep", "silence", "noise")
BLEEP_HZ = 1000.0
BLEEP_LEVEL = 0.25  # peak amplitude, about -12 dBFS: plainly audible, not painful
NOISE_LEVEL = 0.1  # RMS of the white noise, about -20 dBFS


class RedactionError(ValueError):
    """Redaction cannot be done safely; the pipeline must withhold the clip."""


class SpanOutOfRange(RedactionError):
    """A span points at words the transcript does not have."""


class MissingWordTimes(RedactionError):
    """A span's words have no (or impossible) times, so its audio cannot be located."""


class ClipError(RedactionError):
    """A file that is not a usable mono 16 kHz WAV recording; the message says why."""


# --- words and spans --------------------------------------------------------------------


def _field(word: Any, name: str) -> Any:
    if isinstance(word, Mapping):
        return word.get(name)
    return getattr(word, name, None)


def _text(word: Any) -> str:
    return word if isinstance(word, str) else str(_field(word, "w"))


def _check_spans(spans: Sequence[Span], n_words: int) -> None:
    for s in spans:
        if not isinstance(s, Span):
            raise TypeError(f"expected redaction.spans.Span, got {type(s).__name__}")
        if s.end > n_words:
            raise SpanOutOfRange(
                f"span {s.label} [{s.start}, {s.end}) points past the transcript's "
                f"{n_words} words; withhold the clip"
            )


def _word_times(words: Sequence[Any], index: int) -> tuple[float, float]:
    start, end = _field(words[index], "start"), _field(words[index], "end")
    try:
        t0, t1 = float(start), float(end)
    except (TypeError, ValueError):
        raise MissingWordTimes(
            f"word {index} ({_text(words[index])!r}) has no time (start={start!r}, "
            f"end={end!r}); align the transcript or withhold the clip"
        ) from None
    if not (math.isfinite(t0) and math.isfinite(t1)) or t0 < 0 or t1 < t0:
        raise MissingWordTimes(
            f"word {index} ({_text(words[index])!r}) has impossible times [{t0}, {t1}] s"
        )
    return t0, t1


def merge_ranges(ranges: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sorted ranges with overlapping or touching ones joined."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


# Seconds redacted on each side of a span's words. Whisper's word times miss a PII word's
# edges by 0.1-0.3 s: at 0.08 s half the held-out entities had a word less than 90% bleeped,
# at 0.2 s a fifth, for 1 point more of over-masking (experiments/results/redaction.md).
MARGIN_S = 0.2


def time_ranges(
    spans: Sequence[Span],
    words: Sequence[Any],
    *,
    margin_s: float = MARGIN_S,
    duration: float | None = None,
) -> list[tuple[float, float]]:
    """The audio to redact: each span's words' times, widened, clamped, merged.

    A span that already carries ``t_start``/``t_end`` (from alignment) is widened to cover
    both those times and its words' times: the union is the safer choice.

    Args:
        spans: spans over ``words`` (word indices, end exclusive).
        words: the transcript's words, each a ``{w, start, end}`` mapping or an object with
            those attributes; times in seconds.
        margin_s: seconds added on each side (word boundaries are approximate, and the
            fades of :func:`redact_audio` need room outside the range).
        duration: the clip's length in seconds; ranges are clamped to ``[0, duration]``.

    Returns:
        Sorted, non-overlapping ``(start, end)`` ranges in seconds.

    Raises:
        SpanOutOfRange: a span points past the words, or starts after the clip ends.
        MissingWordTimes: a span's word has no time, or impossible times.
    """
    if not (math.isfinite(margin_s) and margin_s >= 0):
        raise ValueError(f"margin_s={margin_s}: must be >= 0 seconds")
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration={duration}: must be > 0 seconds")
    _check_spans(spans, len(words))
    ranges = []
    for s in spans:
        times = [_word_times(words, i) for i in range(s.start, s.end)]
        t0, t1 = min(t[0] for t in times), max(t[1] for t in times)
        if s.t_start is not None and s.t_end is not None:
            t0, t1 = min(t0, s.t_start), max(t1, s.t_end)
        if duration is not None and t0 >= duration:
            raise SpanOutOfRange(
                f"span {s.label} starts at {t0:.3f} s, after the clip's end ({duration:.3f} "
                "s): the word times do not belong to this audio; withhold the clip"
            )
        a, b = max(0.0, t0 - margin_s), t1 + margin_s
        ranges.append((a, min(b, duration) if duration is not None else b))
    return merge_ranges(ranges)


def mask_transcript(words: Sequence[Any], spans: Sequence[Span]) -> str:
    """The transcript with each span's words replaced by one ``[LABEL]`` placeholder.

    Where spans overlap, each word goes to the span that starts first (the longer one on a
    tie), so every covered word is masked exactly once.

    Args:
        words: strings, ``{w, ...}`` mappings or objects with ``w``.
        spans: spans over ``words``.

    Raises:
        SpanOutOfRange: a span points past the words.
    """
    _check_spans(spans, len(words))
    owner: list[int | None] = [None] * len(words)
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    for k, s in enumerate(ordered):
        for i in range(s.start, s.end):
            if owner[i] is None:
                owner[i] = k
    out: list[str] = []
    for i, w in enumerate(words):
        k = owner[i]
        if k is None:
            out.append(_text(w))
        elif i == 0 or owner[i - 1] != k:
            out.append(f"[{ordered[k].label}]")
    return " ".join(out)


# --- audio ------------------------------------------------------------------------------


def _check_wave(wave: Any, sample_rate: int) -> np.ndarray:
    if sample_rate != SAMPLE_RATE:
        raise RedactionError(f"sample rate {sample_rate} Hz: redaction takes {SAMPLE_RATE} Hz")
    if not isinstance(wave, np.ndarray) or wave.dtype != np.float32 or wave.ndim != 1:
        desc = (
            f"{wave.dtype} array of shape {wave.shape}"
            if isinstance(wave, np.ndarray)
            else type(wave).__name__
        )
        raise RedactionError(f"expected a mono float32 wave of shape (samples,), got {desc}")
    if not np.all(np.isfinite(wave)):
        raise RedactionError("the wave holds NaN or infinite samples")
    return wave


def _ramp(n: int) -> np.ndarray:
    """A raised-cosine rise over ``n`` samples, excluding both ends (0 < r < 1)."""
    return (0.5 - 0.5 * np.cos(np.pi * np.arange(1, n + 1) / (n + 1))).astype(np.float32)


def _filler(mode: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if mode == "bleep":
        t = np.arange(n) / SAMPLE_RATE
        return (BLEEP_LEVEL * np.sin(2 * np.pi * BLEEP_HZ * t)).astype(np.float32)
    if mode == "noise":
        return (NOISE_LEVEL * rng.standard_normal(n)).clip(-0.5, 0.5).astype(np.float32)
    return np.zeros(n, dtype=np.float32)


def redact_audio(
    wave: np.ndarray,
    ranges: Sequence[tuple[float, float]],
    *,
    mode: str = "bleep",
    fade_ms: float = 5.0,
    sample_rate: int = SAMPLE_RATE,
    seed: int = 0,
) -> np.ndarray:
    """Replace every range with a 1 kHz bleep, silence or white noise.

    Inside a range the original is gone entirely; the replacement fades in and out over
    ``fade_ms`` within it. The original fades out over ``fade_ms`` just before the range
    and back in just after it (in the margin :func:`time_ranges` adds), so no edge clicks.

    Args:
        wave: (samples,) float32, mono, at 16 kHz.
        ranges: ``(start, end)`` seconds, e.g. from :func:`time_ranges`; they are merged
            first, and an end past the clip is clamped.
        mode: ``"bleep"`` (1 kHz sine, peak 0.25), ``"silence"``, or ``"noise"`` (white,
            RMS 0.1, from ``seed``: it does not depend on the audio).
        fade_ms: length of each fade, in milliseconds (0: hard edges).
        sample_rate: must be 16000; stated so that a caller with other audio hears of it.
        seed: the noise generator's seed.

    Returns:
        (samples,) float32 in [-1, 1], the same length as ``wave``.

    Raises:
        RedactionError: wrong dtype, shape, rate or mode; NaN samples; a range that is
            empty, negative, or starts after the clip ends (withhold the clip).
    """
    wave = _check_wave(wave, sample_rate)
    if mode not in MODES:
        raise RedactionError(f"mode={mode!r}: must be one of {', '.join(MODES)}")
    if not (math.isfinite(fade_ms) and fade_ms >= 0):
        raise RedactionError(f"fade_ms={fade_ms}: must be >= 0")
    n = len(wave)
    for a, b in ranges:
        if not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b <= a:
            raise RedactionError(f"range [{a}, {b}] s is empty or negative")
        if a * SAMPLE_RATE >= n:
            raise SpanOutOfRange(
                f"range [{a:.3f}, {b:.3f}] s starts after the clip's end ({n / SAMPLE_RATE:.3f}"
                " s); withhold the clip"
            )
    fade = round(fade_ms * SAMPLE_RATE / 1000)
    rng = np.random.default_rng(seed)
    keep = np.ones(n, dtype=np.float32)  # the original's gain
    fill = np.zeros(n, dtype=np.float32)
    for a, b in merge_ranges(ranges):
        i, j = math.floor(a * SAMPLE_RATE), min(n, math.ceil(b * SAMPLE_RATE))
        keep[i:j] = 0.0
        if fade:
            up = _ramp(fade)
            lo, hi = max(0, i - fade), min(n, j + fade)
            keep[lo:i] = np.minimum(keep[lo:i], up[::-1][fade - (i - lo) :])
            keep[j:hi] = np.minimum(keep[j:hi], up[: hi - j])
        part = _filler(mode, j - i, rng)
        f = min(fade, (j - i) // 2)
        if f:
            part[:f] *= _ramp(f)
            part[-f:] *= _ramp(f)[::-1]
        fill[i:j] = part
    out = wave * keep + fill
    return np.clip(out, -1.0, 1.0).astype(np.float32)


# --- reading a clip ---------------------------------------------------------------------


def _riff_chunks(path: Path, data: bytes) -> dict[bytes, int]:
    """Walk the RIFF/WAVE chunks; refuse anything but one ``fmt `` and one ``data`` chunk
    laid out exactly within the file (a second or oversized data chunk could hide audio
    from a reader that stops at the first)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ClipError(f"{path}: not a WAV file (no RIFF/WAVE header); send 16-bit WAV")
    riff_size = struct.unpack("<I", data[4:8])[0]
    if riff_size + 8 != len(data):
        raise ClipError(
            f"{path}: corrupt WAV header (RIFF size {riff_size + 8} bytes, file {len(data)}"
            " bytes): an interrupted or edited recording; record it again"
        )
    counts: dict[bytes, int] = {}
    pos = 12
    while pos < len(data):
        if pos + 8 > len(data):
            raise ClipError(f"{path}: corrupt WAV (a truncated chunk header at byte {pos})")
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        end = pos + 8 + size + (size & 1)
        if end > len(data) + (size & 1):
            raise ClipError(
                f"{path}: corrupt WAV (chunk {cid!r} claims {size} bytes past the file's end)"
            )
        counts[cid] = counts.get(cid, 0) + 1
        pos = end
    if counts.get(b"fmt ") != 1 or counts.get(b"data") != 1:
        raise ClipError(
            f"{path}: corrupt WAV: {counts.get(b'fmt ', 0)} fmt and {counts.get(b'data', 0)} "
            "data chunks, expected one of each; re-export it"
        )
    return counts


def read_clip(path: str | os.PathLike) -> np.ndarray:
    """Read a recording to redact, refusing anything that is not a clean mono 16 kHz WAV.

    Nothing is converted: a stereo file is refused rather than mixed down (the word times
    were computed on one waveform; a file that differs from what the device recorded is a
    reason to stop, not to guess), and another rate is refused rather than resampled.

    Args:
        path: a WAV file.

    Returns:
        (samples,) float32 in [-1, 1].

    Raises:
        ClipError: missing, empty, not WAV, a corrupt header or chunk layout, more than one
            channel, a rate other than 16000 Hz, no samples, or non-finite samples.
    """
    path = Path(path)
    if not path.is_file():
        raise ClipError(f"{path}: no such file")
    data = path.read_bytes()
    if not data:
        raise ClipError(f"{path}: an empty file (0 bytes), not a recording")
    _riff_chunks(path, data)
    try:
        info = sf.info(str(path))
        wave, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ClipError(f"{path}: corrupt WAV ({reason}); re-export it as 16-bit WAV") from None
    if info.format != "WAV":
        raise ClipError(f"{path}: a {info.format} file, not WAV")
    if wave.shape[1] != 1:
        raise ClipError(
            f"{path}: {wave.shape[1]} channels; redaction takes mono only "
            f"(sox {path.name} -c 1 mono.wav)"
        )
    if sr != SAMPLE_RATE:
        raise ClipError(
            f"{path}: sample rate {sr} Hz, expected {SAMPLE_RATE} Hz "
            f"(sox {path.name} -r {SAMPLE_RATE} out.wav)"
        )
    if wave.shape[0] == 0:
        raise ClipError(f"{path}: a WAV header with no samples")
    if not np.all(np.isfinite(wave)):
        raise ClipError(f"{path}: NaN or infinite samples")
    return np.ascontiguousarray(np.clip(wave[:, 0], -1.0, 1.0), dtype=np.float32)
