"""Inference: a checkpoint in, transcripts with word times and confidences out.

    rec = Recognizer.load("models/asr-tiny/model.pt")
    result = rec.transcribe(wave)            # 16 kHz mono float32
    result.as_dict()  # {"text", "confidence", "words": [{"w", "start", "end", "conf"}]}

Audio longer than ``max_segment_seconds`` (default 12 s, the longest training clip) is cut
at its pauses (:func:`speech.asr.segment.split_at_pauses`); each segment is decoded on its
own, like the single requests the model learnt from, and its words are shifted by the
segment's start, so the result is one transcript of the whole recording. Shorter audio is
decoded in one piece. Empty or silent audio gives an empty transcript with confidence 0.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from speech import SAMPLE_RATE
from speech.asr.decode import BeamSearch, WordHyp, align_words, greedy
from speech.asr.lm import CharNgram
from speech.asr.model import CTCModel
from speech.asr.segment import SILENCE_RMS, split_at_pauses
from speech.asr.vocab import CharVocab
from speech.checkpoint import load_model
from speech.data.features import FeatureConfig


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
        max_segment_seconds: longer audio is cut at pauses into segments no longer than
            this, decoded one by one.
    """

    def __init__(
        self,
        model: CTCModel,
        features: FeatureConfig,
        vocab: CharVocab,
        *,
        lm: CharNgram | None = None,
        decoder: str = "beam",
        beam_size: int = 32,
        lm_weight: float = 0.5,
        word_bonus: float = 0.0,
        offsets: tuple[float, float] = (0.0, 0.0),
        max_segment_seconds: float = 12.0,
    ):
        if decoder not in ("beam", "greedy"):
            raise ValueError(f"decoder must be 'beam' or 'greedy', not {decoder!r}")
        if not max_segment_seconds > 0:
            raise ValueError(f"max_segment_seconds must be positive, not {max_segment_seconds}")
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
        self.max_segment_seconds = float(max_segment_seconds)

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
        lp, n = self.model(feats, self.frontend.lengths_to_frames(torch.tensor([x.shape[1]])))
        return lp[0, : int(n[0])]

    def decode(self, log_probs: torch.Tensor) -> str:
        return self.beam(log_probs) if self.beam is not None else greedy(log_probs, self.vocab)

    def segments(self, wave: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """(start sample, piece) pairs to decode one by one: the whole of a short recording,
        the segments of a long one (see :mod:`speech.asr.segment`)."""
        if wave.size <= self.max_segment_seconds * SAMPLE_RATE:
            return [(0, wave)]
        return [
            (s.start, wave[s.start : s.end])
            for s in split_at_pauses(wave, max_seconds=self.max_segment_seconds)
        ]

    def transcribe(self, wave: np.ndarray) -> Transcript:
        """Words, times (seconds from the start of ``wave``) and confidences of a recording.

        Args:
            wave: (samples,) float32 at ``SAMPLE_RATE``, any length.
        """
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        if wave.size == 0 or float(np.sqrt(np.mean(wave**2))) < SILENCE_RMS:
            return Transcript()
        return self.transcribe_pieces(self.segments(wave))

    def transcribe_pieces(self, pieces: Iterable[tuple[int, np.ndarray]]) -> Transcript:
        """One transcript of a recording's pieces, each decoded on its own.

        Args:
            pieces: (start sample in the recording, (samples,) float32 audio) pairs in order,
                as :meth:`segments` gives them; silent pieces are skipped.

        Returns:
            The pieces' words in order, times shifted by each piece's start; the confidence
            is the mean of the words' confidences.
        """
        words: list[WordHyp] = []
        for start, chunk in pieces:
            if chunk.size == 0 or float(np.sqrt(np.mean(chunk**2))) < SILENCE_RMS:
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
    10 ms frame in the last ``search`` share of each piece.

    How :meth:`Recognizer.transcribe` cut long audio before it cut at pauses
    (:mod:`speech.asr.segment`), with 20 s pieces; ``experiments.long_recordings`` measures
    it as the baseline.
    """
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
