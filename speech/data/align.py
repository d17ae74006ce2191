"""Forced alignment and intelligibility scoring with pocketsphinx.

Used while building the corpus: word times for engines that do not report them
(flite, espeak-ng), and word accuracy of a voice on a calibration set. Words missing
from pocketsphinx's dictionary get a pronunciation from flite's letter-to-sound
rules (its phone set is CMU's, with ``ax``/``axr`` folded into ``AH``/``ER``).
"""

from __future__ import annotations

import subprocess
from functools import lru_cache

import numpy as np

from speech import SAMPLE_RATE
from speech.data.manifest import Word

_FRAME = 0.01  # pocketsphinx frame shift, seconds
_FLITE_TO_CMU = {"ax": "AH", "axr": "ER"}


# pocketsphinx's feature extraction keeps state from one utterance to the next (turning off
# noise removal or resetting the CMN does not clear it), so a reused decoder aligned a clip
# differently depending on what it had heard before, and corpora built by a pool of workers
# differed from build to build. ``reinit_feat()`` before each utterance clears it: every
# clip gets what a fresh decoder would give (checked), at about 6 ms per clip.
@lru_cache(maxsize=2)
def _decoder(mode: str):
    from pocketsphinx import Decoder

    if mode == "align":
        return Decoder(samprate=SAMPLE_RATE, bestpath=False, loglevel="FATAL")
    return Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")


def _int16(wave: np.ndarray) -> bytes:
    return (np.clip(wave, -1, 1) * 32767).astype(np.int16).tobytes()


def flite_pronunciations(words: list[str]) -> dict[str, str]:
    """CMU-style phone strings for ``words`` from flite's lexicon and letter-to-sound rules."""
    if not words:
        return {}
    got = _flite_phones(words)
    if got is None:  # flite phrased the batch differently: one call a word
        got = {w: p for w in words for p in (_flite_phones([w]) or {}).values()}
    return got


def _flite_phones(words: list[str]) -> dict[str, str] | None:
    text = "\n".join(f"{w}." for w in words)
    res = subprocess.run(
        ["flite", "-voice", "kal", "-t", text, "-ps", "-o", "none"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    groups = [g.split() for g in res.stdout.split("pau")]
    groups = [g for g in groups if g]
    if len(groups) != len(words):
        return None
    return {
        w: " ".join(_FLITE_TO_CMU.get(p, p.upper()) for p in g)
        for w, g in zip(words, groups, strict=True)
    }


def _ensure_words(decoder, words: list[str]) -> None:
    missing = sorted({w for w in words if decoder.lookup_word(w) is None})
    for w, phones in flite_pronunciations(missing).items():
        decoder.add_word(w, phones, True)


def align(wave: np.ndarray, text: str) -> list[Word] | None:
    """Word start/end times (seconds) of ``text`` in ``wave`` (16 kHz float32), or None on failure."""
    words = text.split()
    if not words or wave.size < SAMPLE_RATE // 10:
        return None
    dec = _decoder("align")
    _ensure_words(dec, words)
    try:
        dec.set_align_text(" ".join(words))
        dec.reinit_feat()
        dec.start_utt()
        dec.process_raw(_int16(wave), full_utt=True)
        dec.end_utt()
        # seg() is None when no alignment path reaches the end of the audio.
        segs = [s for s in dec.seg() or () if s.word not in ("<s>", "</s>", "<sil>", "[NOISE]")]
    except RuntimeError:
        return None
    # Alternate pronunciations come back as "word(2)".
    got = [s.word.split("(")[0] for s in segs]
    if got != words:
        return None
    return [
        Word(w, round(s.start_frame * _FRAME, 3), round((s.end_frame + 1) * _FRAME, 3))
        for w, s in zip(words, segs, strict=True)
    ]


def recognize(wave: np.ndarray) -> str:
    """pocketsphinx's free transcription of ``wave`` with its bundled English model."""
    dec = _decoder("decode")
    dec.reinit_feat()
    dec.start_utt()
    dec.process_raw(_int16(wave), full_utt=True)
    dec.end_utt()
    hyp = dec.hyp()
    return hyp.hypstr.lower() if hyp is not None else ""


def word_errors(ref: list[str], hyp: list[str]) -> int:
    """Levenshtein distance between word lists (substitutions + deletions + insertions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]
