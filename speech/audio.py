"""Audio I/O with clear errors: the only place that reads or writes waveforms.

Everything inside sottovoce is mono float32 at :data:`speech.SAMPLE_RATE`. Files at
another rate are resampled (or refused, when the caller asks), stereo is mixed down,
and empty or unreadable files raise :class:`AudioError` naming the file and the fix.

The command lines share two rules from here: :func:`expand_audio_args` turns their file
arguments into files (a directory stands for the WAV files in it), and :func:`load_wav`
refuses a file without samples (zero bytes, or a header and no frames) as it refuses a
corrupt one, so no tool mistakes a failed recording for a silent one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from speech import SAMPLE_RATE
from speech.files import atomic_path


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
) -> np.ndarray:
    """Read an audio file as mono float32 in [-1, 1] at ``sample_rate``.

    Args:
        path: any format libsndfile reads (WAV, FLAC, OGG).
        sample_rate: the rate the caller needs, in Hz.
        on_wrong_rate: ``"resample"`` converts other rates; ``"error"`` refuses them.

    Returns:
        (samples,) float32 array. Multi-channel files are averaged to mono.

    Raises:
        AudioError: a missing, corrupt or empty file (zero bytes, or a header with no
            samples), a directory, or a wrong rate with ``on_wrong_rate="error"``.
    """
    path = Path(path)
    if path.is_dir():
        raise AudioError(
            f"{path}: a directory, not an audio file; name its files"
            if wav_files(path)
            else f"{path}: a directory with no .wav files in it (subdirectories are not "
            "searched); name WAV files or a directory that holds some"
        )
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: an empty file (0 bytes), not a recording; record it again")
    try:
        wave, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(
            f"{path}: not a readable audio file ({exc}); re-export it as 16-bit WAV"
        ) from exc
    wave = wave.mean(axis=1) if wave.shape[1] > 1 else wave[:, 0]
    if wave.size == 0:
        raise AudioError(
            f"{path}: the file holds no samples (a header only); record or export it again"
        )
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


def wav_files(directory: str | os.PathLike) -> list[Path]:
    """The ``.wav`` files directly inside ``directory`` (any case of the suffix), sorted by
    name; hidden files are skipped and subdirectories are not searched."""
    return sorted(
        p
        for p in Path(directory).iterdir()
        if p.suffix.lower() == ".wav" and not p.name.startswith(".") and p.is_file()
    )


def expand_audio_args(args: Iterable[str | os.PathLike]) -> list[str]:
    """The files a command line's audio arguments name, in order.

    A directory stands for its :func:`wav_files`. Anything else, including a directory with
    no WAV files, is kept as given, so that :func:`load_wav` reports it (a clear
    :class:`AudioError`) in its place among the other files' results.

    Args:
        args: paths as typed: files, directories, or paths that do not exist.

    Returns:
        Paths as strings, each directory replaced by its WAV files.
    """
    out: list[str] = []
    for arg in args:
        wavs = wav_files(arg) if Path(arg).is_dir() else []
        out += [str(p) for p in wavs] if wavs else [str(arg)]
    return out


def save_wav(path: str | os.PathLike, wave: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Write 16-bit PCM atomically (a crash never leaves a half-written file behind)."""
    wave = np.clip(np.asarray(wave, dtype=np.float32), -1.0, 1.0)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), wave, sample_rate, subtype="PCM_16", format="WAV")


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
