"""Inference: a checkpoint in, transcripts with word times and confidences out.

    rec = Recognizer.load("models/asr-tiny/model.pt")
    result = rec.transcribe(wave)            # 16 kHz mono float32
    result.as_dict()  # {"text", "confidence", "words": [{"w", "start", "end", "conf"}]}

Long audio is cut into chunks of at most ``max_chunk_seconds`` at the quietest moment
near each cut, so memory stays bounded and words are rarely split. Empty or silent audio
gives an empty transcript with confidence 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import torch

from speech import SAMPLE_RATE
from speech.asr.decode import BeamSearch, WordHyp, align_words, greedy
from speech.asr.lm import CharNgram
from speech.asr.model import ConformerCTC
from speech.asr.vocab import CharVocab
from speech.checkpoint import load_model
from speech.data.features import FeatureConfig

SILENCE_RMS = 1e-4  # about -80 dBFS: below it nothing is said


@dataclass
class Transcript:
    text: str = ""
    confidence: float = 0.0
    words: list[WordHyp] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "confidence": round(self.confidence, 3),
            "words": [w.as_dict() for w in self.words],
        }


class Recognizer:
    """A loaded ASR model with its features, vocabulary, LM and decoder settings.

    Args:
        model, features, vocab: from the checkpoint.
        lm: the checkpoint's character LM (None: acoustic only).
        decoder: ``beam`` (with the LM) or ``greedy``.
        offsets: (start, end) seconds added to word times, measured on dev in training.
    """

    def __init__(
        self,
        model: ConformerCTC,
        features: FeatureConfig,
        vocab: CharVocab,
        *,
        lm: CharNgram | None = None,
        decoder: str = "beam",
        beam_size: int = 32,
        lm_weight: float = 0.5,
        word_bonus: float = 0.0,
        offsets: tuple[float, float] = (0.0, 0.0),
        max_chunk_seconds: float = 20.0,
    ):
        if decoder not in ("beam", "greedy"):
            raise ValueError(f"decoder must be 'beam' or 'greedy', not {decoder!r}")
        self.model = model.eval()
        self.frontend = features.build()
        self.vocab = vocab
        self.decoder = decoder
        self.beam = (
            BeamSearch(vocab, lm, beam_size=beam_size, lm_weight=lm_weight, word_bonus=word_bonus)
            if decoder == "beam"
            else None
        )
        self.offsets = offsets
        self.max_chunk = int(max_chunk_seconds * SAMPLE_RATE)

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides) -> Recognizer:
        model, meta = load_model(path, task="asr")
        extra = meta.get("extra", {})
        lm = CharNgram.from_dict(extra["lm"]) if extra.get("lm") else None
        settings = {
            "decoder": "beam" if lm is not None else "greedy",
            "beam_size": extra.get("beam_size", 32),
            "lm_weight": extra.get("lm_weight", 0.5),
            "word_bonus": extra.get("word_bonus", 0.0),
            "offsets": tuple(extra.get("time_offsets", (0.0, 0.0))),
        }
        settings.update({k: v for k, v in overrides.items() if v is not None})
        return cls(
            model,
            FeatureConfig.from_dict(meta["features"]),
            CharVocab(meta["vocab"]),
            lm=lm,
            **settings,
        )

    @torch.no_grad()
    def log_probs(self, wave: np.ndarray) -> torch.Tensor:
        """(T, V) CTC log-probabilities of one chunk."""
        x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))[None]
        feats = self.frontend(x)
        lp, n = self.model(feats)
        return lp[0, : int(n[0])]

    def decode(self, log_probs: torch.Tensor) -> str:
        return self.beam(log_probs) if self.beam is not None else greedy(log_probs, self.vocab)

    def transcribe(self, wave: np.ndarray) -> Transcript:
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        if wave.size == 0 or float(np.sqrt(np.mean(wave**2))) < SILENCE_RMS:
            return Transcript()
        words: list[WordHyp] = []
        for start, chunk in chunks(wave, self.max_chunk):
            if float(np.sqrt(np.mean(chunk**2))) < SILENCE_RMS:
                continue
            lp = self.log_probs(chunk)
            text = self.decode(lp)
            offset = start / SAMPLE_RATE
            for w in align_words(
                lp, text, self.vocab, frame_seconds=self.model.frame_seconds, offsets=self.offsets
            ):
                words.append(WordHyp(w.w, w.start + offset, w.end + offset, w.conf))
        if not words:
            return Transcript()
        return Transcript(
            " ".join(w.w for w in words), float(np.mean([w.conf for w in words])), words
        )


def chunks(wave: np.ndarray, max_samples: int, search: float = 0.25):
    """Yield (start sample, piece): pieces of at most ``max_samples``, cut at the quietest
    10 ms frame in the last ``search`` share of each piece."""
    start = 0
    frame = SAMPLE_RATE // 100
    while start < len(wave):
        end = start + max_samples
        if end >= len(wave):
            yield start, wave[start:]
            return
        lo = end - int(max_samples * search)
        seg = wave[lo:end]
        energy = (seg[: len(seg) // frame * frame].reshape(-1, frame) ** 2).mean(1)
        cut = lo + int(np.argmin(energy)) * frame + frame // 2
        yield start, wave[start:cut]
        start = cut
