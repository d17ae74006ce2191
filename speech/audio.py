"""Audio I/O with clear errors: the only place that reads or writes waveforms.

Everything inside sottovoce is mono float32 at :data:`speech.SAMPLE_RATE`. Files at
another rate are resampled (or refused, when the caller asks), stereo is mixed down,
and empty or unreadable files raise :class:`AudioError` naming the file and the fix.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from speech import SAMPLE_RATE


class AudioError(ValueError):
    """A file could not be used as audio; the message says which file and why."""


def resample(wave: np.ndarray, orig_sr: int, target_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling (polyphase). ``wave``: (samples,) float32."""
    if orig_sr == target_sr:
        return wave
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(orig_sr, target_sr)
    return resample_poly(wave, target_sr // g, orig_sr // g).astype(np.float32)


def load_wav(
    path: str | os.PathLike,
    *,
    sample_rate: int = SAMPLE_RATE,
    on_wrong_rate: str = "resample",
    allow_empty: bool = False,
) -> np.ndarray:
    """Read an audio file as mono float32 in [-1, 1] at ``sample_rate``.

    Args:
        path: any format libsndfile reads (WAV, FLAC, OGG).
        sample_rate: the rate the caller needs, in Hz.
        on_wrong_rate: ``"resample"`` converts other rates; ``"error"`` refuses them.
        allow_empty: return a zero-length array for an empty file instead of raising.

    Returns:
        (samples,) float32 array. Multi-channel files are averaged to mono.

    Raises:
        AudioError: missing, corrupt or empty file, or a wrong rate with ``on_wrong_rate="error"``.
    """
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        wave, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(
            f"{path}: not a readable audio file ({exc}); re-export it as 16-bit WAV"
        ) from exc
    wave = wave.mean(axis=1) if wave.shape[1] > 1 else wave[:, 0]
    if wave.size == 0 and not allow_empty:
        raise AudioError(f"{path}: the file holds no samples")
    if sr != sample_rate:
        if on_wrong_rate == "error":
            raise AudioError(
                f"{path}: sample rate is {sr} Hz, expected {sample_rate} Hz; "
                f"convert it (sox in.wav -r {sample_rate} out.wav) or allow resampling"
            )
        if on_wrong_rate != "resample":
            raise ValueError(f"on_wrong_rate must be 'resample' or 'error', not {on_wrong_rate!r}")
        wave = resample(wave, sr, sample_rate)
    return np.ascontiguousarray(wave, dtype=np.float32)


def save_wav(path: str | os.PathLike, wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write 16-bit PCM atomically (a crash never leaves a half-written file behind)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wave = np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp.wav")
    os.close(fd)
    try:
        sf.write(tmp, wave, sample_rate, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def audio_warnings(path: str | os.PathLike, wave: np.ndarray, *, silent: str) -> list[str]:
    """What a command line should tell its user about a file it *could* use.

    ``wave`` is the file as :func:`load_wav` returned it; ``silent`` is the message for a
    file with nothing in it (each tool says what silence means for it).
    """
    out = []
    try:
        info = sf.info(str(path))
        if info.channels > 1:
            out.append(f"{info.channels} channels mixed down to mono")
        if info.samplerate != SAMPLE_RATE:
            out.append(f"resampled from {info.samplerate} Hz to {SAMPLE_RATE} Hz")
    except RuntimeError:
        pass
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak < 1e-4:
        out.append(silent)
    clipped = float(np.mean(np.abs(wave) >= 0.999)) if wave.size else 0.0
    if clipped > 0.001:
        out.append(f"clipped: {clipped:.1%} of samples at full scale; results may be unreliable")
    return out
