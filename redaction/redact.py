"""The redact path: an escalated clip in, a redacted clip (or a reason to withhold it) out.

    redactor = Redactor(RedactConfig())
    result = redactor(wave, clip_id="c-17")       # 16 kHz mono float32
    result.withheld, result.reason                 # fail closed: any doubt withholds
    result.clip                                    # the RedactedClip a reviewer may receive

Steps, each failing closed (``withheld`` with the reason, never the raw content):

1. Whisper transcribes (the strongest offline recognizer: ``redaction.transcribe``); our
   recognizer gives a second opinion. Either failing, or Whisper's confidence under the
   floor, withholds the clip; so does a clip with no speech or longer than ``max_seconds``.
2. PII is detected in both transcripts (``redaction.pii``). Spans found in our transcript are
   carried onto Whisper's words by time, and their audio is redacted even where Whisper heard
   nothing: what either heard is redacted.
3. Special categories (health, religion, ...) follow their policy: withhold, or mask and set
   the content warning.
4. The spans' audio (word times plus margins) is bleeped, the transcript masked, and the
   result anonymized (``redaction.anonymize``; a fresh pseudo-speaker per clip by default).

The :class:`RedactedClip` holds no device id, speaker id, raw audio or raw transcript
(``../shared/DESIGN.md``); :class:`Result` also carries the raw transcript for the operator
of the pipeline (the ``redact`` CLI prints it), never for the review queue.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from redaction.audio import MARGIN_S
from redaction.spans import Span, merge

SAMPLE_RATE = 16000
Detector = Callable[[Sequence[str]], list[Span]]
SPECIAL = ("HEALTH", "SEXUAL_LIFE", "RELIGION", "POLITICS", "ETHNICITY")  # redaction.pii's


@dataclass
class RedactConfig:
    """Settings of the redact path.

    Attributes:
        whisper: the redaction transcriber (``tiny.en``, ``base`` or a CTranslate2 directory).
        second_opinion: our recognizer's checkpoint (None: Whisper only).
        min_confidence: Whisper's transcript confidence below which the clip is withheld.
        max_seconds: longer clips are withheld (review is for requests, not recordings).
        margin_s: seconds of audio redacted on each side of a span's words.
        mode: ``bleep``, ``silence`` or ``noise``.
        anonymizer: ``pseudo`` or ``mcadams``.
        voice: ``clip`` (a fresh pseudo-voice per clip) or ``device`` (one per device and
            review window: only if the policy allows reviewers to hear that two clips share a
            speaker).
        window_days: the review window for ``voice: device``.
        special: per special category, ``withhold`` or ``warn`` (mask and flag).
        ttl_days: the redacted clip's expiry.
        secret_env: the environment variable holding the deployment secret that keys the
            pseudo-voices (a random one per process when unset: voices cannot be redrawn).
        threads: CPU threads for Whisper.
        whisper_fallback: let Whisper re-decode a poor-looking clip by sampling (its
            default). Off: beam search alone, so a clip gets the same transcript, and the same
            redaction or withholding decision, in every run; the sampled re-decodes differed
            from call to call on low-confidence clips, one of which crossed the confidence
            floor between two runs of the demo.
        max_compression_ratio: a Whisper transcript that compresses better than this repeats
            itself (Whisper's own test for a decoding loop, 2.4) and is not trusted: the clip is
            withheld. With ``whisper_fallback`` Whisper would re-decode such a clip instead.
        failsafe: widen detections on recognizer transcripts (``redaction.failsafe``:
            contact slots, long numbers, digits next to numeric spans).
        second_opinion_min_conf, whisper_doubt: a span from the second opinion counts when
            its words' mean confidence reaches ``second_opinion_min_conf``, or when Whisper
            is unsure there (a word under ``whisper_doubt``). Our recognizer, unsure on a
            voice, hallucinates request-like PII ("call don keller") where Whisper heard
            "how many calories"; measured in ``experiments/results/redaction.md``.
    """

    whisper: str = "tiny.en"
    second_opinion: str | None = "models/asr-tiny/model.pt"
    min_confidence: float = 0.5
    max_seconds: float = 60.0
    margin_s: float = MARGIN_S
    mode: str = "bleep"
    anonymizer: str = "pseudo"
    voice: str = "clip"
    window_days: int = 7
    special: dict[str, str] = field(
        default_factory=lambda: {
            "HEALTH": "warn",
            "SEXUAL_LIFE": "withhold",
            "RELIGION": "warn",
            "POLITICS": "warn",
            "ETHNICITY": "warn",
        }
    )
    ttl_days: float = 7.0
    secret_env: str = "SOTTOVOCE_ANON_SECRET"
    threads: int = 1
    whisper_fallback: bool = False
    max_compression_ratio: float = 2.4
    failsafe: bool = True
    second_opinion_min_conf: float = 0.3
    whisper_doubt: float = 0.3

    def __post_init__(self) -> None:
        if not 0 <= self.min_confidence <= 1:
            raise ValueError(f"min_confidence={self.min_confidence}: must be in [0, 1]")
        if self.max_compression_ratio <= 0:
            raise ValueError(f"max_compression_ratio={self.max_compression_ratio}: must be > 0")
        if self.max_seconds <= 0 or self.ttl_days <= 0 or self.margin_s < 0:
            raise ValueError("max_seconds and ttl_days must be > 0, margin_s >= 0")
        if self.voice not in ("clip", "device"):
            raise ValueError(f"voice={self.voice!r}: must be clip or device")
        bad = {k: v for k, v in self.special.items() if v not in ("withhold", "warn")}
        if bad:
            raise ValueError(f"special={bad}: each category's policy must be withhold or warn")


@dataclass
class RedactedClip:
    """What a reviewer may receive, and nothing else (DESIGN.md, "Redacted clip")."""

    id: str
    audio: np.ndarray  # redacted and anonymized, 16 kHz mono float32
    masked_transcript: str
    spans: list[dict[str, Any]]  # label, start, end (masked-transcript words), t_start, t_end
    content_warning: bool
    categories: list[str]
    expires_at: str  # UTC ISO
    # An opaque token, the same for every clip of one device (a keyed hash; it names no one):
    # the review service's linkage guard keeps two clips of one device from one reviewer.
    linkage: str = ""
    # sha256 of the receipt the device keeps: with the receipt, the device can ask the
    # review service whether and when this clip was reviewed (never by whom).
    receipt_sha256: str = ""

    def record(self) -> dict[str, Any]:
        """The clip's metadata (its audio travels as a file beside it)."""
        return {
            "id": self.id,
            "masked_transcript": self.masked_transcript,
            "spans": self.spans,
            "content_warning": self.content_warning,
            "categories": self.categories,
            "expires_at": self.expires_at,
            "duration": round(len(self.audio) / SAMPLE_RATE, 3),
            "linkage": self.linkage,
            "receipt_sha256": self.receipt_sha256,
        }


@dataclass
class Result:
    withheld: bool
    reason: str = ""
    transcript: str = ""  # raw: for the pipeline's operator, never the review queue
    masked_transcript: str = ""
    spans: list[Span] = field(default_factory=list)
    clip: RedactedClip | None = None
    seconds: float = 0.0
    receipt: str = ""  # for the device only (see RedactedClip.receipt_sha256)
    ranges: list[tuple[float, float]] = field(default_factory=list)  # the audio redacted, s
    # each transcriber's own detections as time ranges (measurement: who found what)
    by_source: dict[str, list[tuple[float, float]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "transcript": self.transcript,
            "masked_transcript": self.masked_transcript,
            "spans": [
                {
                    k: s.as_dict()[k]
                    for k in ("label", "start", "end", "t_start", "t_end")
                    if k in s.as_dict()
                }
                for s in self.spans
            ],
            "withheld": self.withheld,
            "reason": self.reason,
            "id": self.clip.id if self.clip else None,
            "receipt": self.receipt or None,
        }


def _withhold(reason: str, t0: float, **kw) -> Result:
    return Result(withheld=True, reason=reason, seconds=time.time() - t0, **kw)


def carry_over(
    spans: list[Span], source_words: Sequence[dict], target_words: Sequence[dict]
) -> list[Span]:
    """Spans over one transcript's words, moved onto another's by time overlap.

    Each span keeps its label and gets ``t_start``/``t_end`` from its source words; target
    words overlapping that time become the new span (none overlapping: the span covers no
    target word and is returned with ``start == end`` impossible, so it is dropped here and
    its audio is redacted by time alone, see :meth:`Redactor.__call__`).
    """
    out = []
    for s in spans:
        t0 = min(float(source_words[i]["start"]) for i in range(s.start, s.end))
        t1 = max(float(source_words[i]["end"]) for i in range(s.start, s.end))
        hit = [i for i, w in enumerate(target_words) if w["start"] < t1 and t0 < w["end"]]
        if hit:
            out.append(
                Span(s.label, min(hit), max(hit) + 1, s.score, s.source, t_start=t0, t_end=t1)
            )
    return out


class Redactor:
    """The redact path with its models loaded once.

    Args:
        config: :class:`RedactConfig`.
        detector: PII and special-category spans over a word list (default:
            ``redaction.pii.detect``); spans labelled with a special category (:data:`SPECIAL`)
            follow ``config.special``.
        transcribers: override the Whisper and second-opinion transcribers (tests).
    """

    def __init__(
        self,
        config: RedactConfig | None = None,
        *,
        detector: Detector | None = None,
        transcribers: Sequence[Callable] | None = None,
    ):
        from redaction.anonymize import Anonymizer
        from redaction.transcribe import Ours, Whisper

        self.config = c = config or RedactConfig()
        if detector is None:
            from redaction import pii

            detector = pii.detect
        self.detector = detector
        if transcribers is None:
            transcribers = [Whisper(c.whisper, threads=c.threads, fallback=c.whisper_fallback)]
            if c.second_opinion:
                transcribers.append(Ours(c.second_opinion))
        self.transcribers = list(transcribers)
        secret = os.environ.get(c.secret_env) or secrets.token_hex(16)
        self._secret = secret
        self.anonymizer = Anonymizer(
            c.anonymizer, secret=secret, alpha=None if c.anonymizer == "mcadams" else 0.8
        )

    def _second_opinion_holds(
        self, span: Span, words: Sequence[dict], main: Sequence[dict]
    ) -> bool:
        c = self.config
        conf = [float(words[i].get("conf", 1.0)) for i in range(span.start, span.end)]
        if sum(conf) / len(conf) >= c.second_opinion_min_conf:
            return True
        t0, t1 = float(words[span.start]["start"]), float(words[span.end - 1]["end"])
        heard = [float(w.get("conf", 1.0)) for w in main if w["start"] < t1 and t0 < w["end"]]
        return not heard or min(heard) < c.whisper_doubt

    def _detect(self, words: list[str]) -> list[Span]:
        spans = self.detector(words)
        if self.config.failsafe:
            from redaction.failsafe import widen

            spans = widen(words, spans)
        return spans

    def _voice_key(self, clip_id: str, device: str | None, now: datetime) -> str:
        if self.config.voice == "device" and device:
            window = int(now.timestamp() // (86400 * self.config.window_days))
            return f"device/{device}/{window}"
        return f"clip/{clip_id}"

    def __call__(self, wave: np.ndarray, *, clip_id: str = "", device: str | None = None) -> Result:
        from redaction.anonymize import AnonymizationError
        from redaction.audio import RedactionError, mask_transcript, redact_audio, time_ranges
        from redaction.transcribe import TranscriberError

        c = self.config
        t0 = time.time()
        wave = np.asarray(wave, dtype=np.float32).reshape(-1)
        seconds = len(wave) / SAMPLE_RATE
        if not np.all(np.isfinite(wave)):
            return _withhold("the audio holds non-finite samples", t0)
        if seconds > c.max_seconds:
            return _withhold(f"{seconds:.1f} s is longer than max_seconds={c.max_seconds:g}", t0)
        if seconds < 0.1 or float(np.sqrt(np.mean(wave**2))) < 1e-4:
            return _withhold("no speech: the clip is empty or silent", t0)
        try:
            heard = [t(wave) for t in self.transcribers]
        except TranscriberError as e:
            return _withhold(f"transcription failed: {e}", t0)
        main = heard[0]
        transcript = main.text
        if not main.words:
            return _withhold("no speech: the transcriber heard no words", t0)
        if main.compression_ratio > c.max_compression_ratio:
            return _withhold(
                f"the transcript repeats itself (compression ratio {main.compression_ratio:.1f} > "
                f"{c.max_compression_ratio:g}): Whisper lost track of the audio",
                t0,
                transcript=transcript,
            )
        if main.confidence < c.min_confidence:
            return _withhold(
                f"transcript confidence {main.confidence:.2f} is below the floor {c.min_confidence:g}",
                t0,
                transcript=transcript,
            )
        words = [w["w"] for w in main.words]
        try:
            spans = [
                Span(s.label, s.start, s.end, s.score, f"{main.source}:{s.source}")
                for s in self._detect(words)
            ]
            extra_ranges: list[tuple[float, float]] = []
            by_source = {
                main.source: time_ranges(spans, main.words, margin_s=c.margin_s, duration=seconds)
            }
            for other in heard[1:]:
                if not other.words:
                    continue
                found = self._detect([w["w"] for w in other.words])
                found = [
                    Span(s.label, s.start, s.end, s.score, f"{other.source}:{s.source}")
                    for s in found
                    if self._second_opinion_holds(s, other.words, main.words)
                ]
                spans += carry_over(found, other.words, main.words)
                # what only the second opinion heard is redacted by its own times too
                by_source[other.source] = time_ranges(
                    found, other.words, margin_s=c.margin_s, duration=seconds
                )
                extra_ranges += by_source[other.source]
        except RedactionError as e:
            return _withhold(f"alignment failed: {e}", t0, transcript=transcript)
        except Exception as e:  # a detector bug must not let a clip through
            return _withhold(
                f"PII detection failed: {type(e).__name__}: {e}", t0, transcript=transcript
            )
        labels = sorted({s.label for s in spans if s.label in SPECIAL})
        withhold = [lab for lab in labels if c.special.get(lab, "withhold") == "withhold"]
        if withhold:
            return _withhold(
                f"special category {', '.join(withhold)}: withheld by policy",
                t0,
                transcript=transcript,
            )
        spans = merge(spans)
        try:
            ranges = time_ranges(spans, main.words, margin_s=c.margin_s, duration=seconds)
            from redaction.audio import merge_ranges

            ranges = merge_ranges(ranges + extra_ranges)
            audio = redact_audio(wave, ranges, mode=c.mode)
            masked = mask_transcript(main.words, spans)
        except RedactionError as e:
            return _withhold(f"alignment failed: {e}", t0, transcript=transcript)
        now = datetime.now(UTC)
        try:
            audio = self.anonymizer(audio, key=self._voice_key(clip_id, device, now))
        except AnonymizationError as e:
            return _withhold(f"anonymization failed: {e}", t0, transcript=transcript)
        timed = []
        for s in spans:  # each span's own range, widened and clamped like the audio's
            ((a, b),) = time_ranges([s], main.words, margin_s=c.margin_s, duration=seconds)
            timed.append(s.with_times(round(a, 3), round(b, 3)))
        pid = pseudonym(clip_id, self._secret) if clip_id else secrets.token_hex(8)
        receipt = secrets.token_urlsafe(18)
        clip = RedactedClip(
            id=pid,
            audio=audio,
            masked_transcript=masked,
            spans=[{"label": s.label, "t_start": s.t_start, "t_end": s.t_end} for s in timed],
            content_warning=bool(labels),
            categories=labels,
            expires_at=(now + timedelta(days=c.ttl_days)).isoformat(timespec="seconds"),
            linkage=pseudonym(f"device/{device}" if device else f"clip/{clip_id}", self._secret),
            receipt_sha256=hashlib.sha256(receipt.encode()).hexdigest(),
        )
        return Result(
            False,
            "",
            transcript,
            masked,
            timed,
            clip,
            time.time() - t0,
            receipt,
            ranges,
            by_source,
        )


def pseudonym(clip_id: str, secret: str) -> str:
    """A clip id the review side cannot link back without the deployment secret."""
    return "r-" + hmac.new(secret.encode(), clip_id.encode(), "sha256").hexdigest()[:16]
