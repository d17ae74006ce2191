"""What the queue accepts: a redacted-clip record and its WAV, checked field by field.

The record is exactly what ``redaction.redact.RedactedClip.record()`` writes (``<name>.json``
beside ``<name>.wav``); anything else (a missing or an extra key, a raw ``transcript``, a
``device`` or ``speaker`` field, a wrong type, an expired clip, audio that is not one mono
16 kHz 16-bit PCM data chunk of the stated duration) is refused with the reason. This module
does not import the redaction pipeline: the service checks the contract, not the code.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SAMPLE_RATE = 16000
FIELDS = (
    "id",
    "masked_transcript",
    "spans",
    "content_warning",
    "categories",
    "expires_at",
    "duration",
    "linkage",
    "receipt_sha256",
)
SPAN_REQUIRED = ("label", "t_start", "t_end")
SPAN_OPTIONAL = ("start", "end")  # word indices, when a producer keeps them
SPECIAL = ("HEALTH", "SEXUAL_LIFE", "RELIGION", "POLITICS", "ETHNICITY")
LABELS = ("correct", "corrected", "unintelligible", "not_speech")

CLIP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
LINKAGE = re.compile(r"^[A-Za-z0-9_-]{8,128}\Z")
SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
LABEL = re.compile(r"^[A-Z][A-Z0-9_]{0,39}\Z")
PLACEHOLDER = re.compile(r"\[([A-Z][A-Z0-9_]{0,39})\]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_TRANSCRIPT = 4000
MAX_SPANS = 200


class RecordError(ValueError):
    """A record or audio file the queue refuses; the message says what was wrong."""


@dataclass(frozen=True)
class ClipRecord:
    """A checked redacted-clip record (``expires_at`` as naive UTC)."""

    id: str
    masked_transcript: str
    spans: list[dict[str, Any]]
    content_warning: bool
    categories: list[str]
    expires_at: datetime
    duration: float
    linkage: str
    receipt_sha256: str


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise RecordError(f"{name} must be finite")
    return float(value)


def parse_time(value: Any, name: str = "expires_at") -> datetime:
    """An ISO 8601 time with its UTC offset, as naive UTC."""
    if not isinstance(value, str) or len(value) > 40:
        raise RecordError(f"{name} must be an ISO 8601 string with a UTC offset")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise RecordError(f"{name}={value!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise RecordError(f"{name}={value!r} has no UTC offset (write +00:00)")
    return t.astimezone(UTC).replace(tzinfo=None)


def check_transcript(text: Any, name: str = "masked_transcript") -> str:
    """A transcript string: not too long, no control characters."""
    if not isinstance(text, str):
        raise RecordError(f"{name} must be a string")
    if len(text) > MAX_TRANSCRIPT:
        raise RecordError(f"{name} is {len(text)} characters long (at most {MAX_TRANSCRIPT})")
    if CONTROL.search(text):
        raise RecordError(f"{name} holds control characters")
    return text


def placeholders(text: str) -> list[str]:
    """The ``[LABEL]`` placeholders of a masked transcript, in order."""
    return PLACEHOLDER.findall(text)


def _check_span(span: Any, k: int, duration: float) -> dict[str, Any]:
    if not isinstance(span, dict):
        raise RecordError(f"spans[{k}] must be an object")
    keys = set(span)
    missing = [f for f in SPAN_REQUIRED if f not in keys]
    extra = sorted(keys - set(SPAN_REQUIRED) - set(SPAN_OPTIONAL))
    if missing or extra:
        raise RecordError(f"spans[{k}]: missing {missing}, unexpected {extra}")
    label = span["label"]
    if not isinstance(label, str) or not LABEL.match(label):
        raise RecordError(f"spans[{k}].label must be an upper-case label like PERSON")
    t0 = _number(span["t_start"], f"spans[{k}].t_start")
    t1 = _number(span["t_end"], f"spans[{k}].t_end")
    if not 0 <= t0 < t1 <= duration + 0.05:
        raise RecordError(f"spans[{k}]: [{t0}, {t1}] s is not inside the clip (0-{duration} s)")
    out = {"label": label, "t_start": t0, "t_end": t1}
    for f in SPAN_OPTIONAL:
        if f in span:
            if isinstance(span[f], bool) or not isinstance(span[f], int) or span[f] < 0:
                raise RecordError(f"spans[{k}].{f} must be a word index")
            out[f] = span[f]
    return out


def check_record(
    record: Any, *, now: datetime | None = None, max_duration_s: float = 60.0
) -> ClipRecord:
    """Check a redacted-clip record (the JSON object ``RedactedClip.record()`` returns).

    Args:
        record: the decoded JSON.
        now: naive UTC (default: the current time); an ``expires_at`` not after it is refused.
        max_duration_s: longer clips are refused.

    Raises:
        RecordError: what is wrong, naming the field.
    """
    if not isinstance(record, dict):
        raise RecordError("a redacted-clip record must be a JSON object")
    keys = set(record)
    missing = [f for f in FIELDS if f not in keys]
    extra = sorted(keys - set(FIELDS))
    if extra:
        raise RecordError(
            f"not a redacted-clip record: unexpected field(s) {extra} "
            "(the queue accepts only what redaction.redact produces)"
        )
    if missing:
        raise RecordError(f"not a redacted-clip record: missing field(s) {missing}")
    clip_id = record["id"]
    if not isinstance(clip_id, str) or not CLIP_ID.match(clip_id):
        raise RecordError("id must be 1-64 characters of letters, digits, '-', '_', '.'")
    duration = _number(record["duration"], "duration")
    if not 0 < duration <= max_duration_s:
        raise RecordError(f"duration={duration} s must be in (0, {max_duration_s}]")
    text = check_transcript(record["masked_transcript"])
    spans = record["spans"]
    if not isinstance(spans, list) or len(spans) > MAX_SPANS:
        raise RecordError(f"spans must be a list of at most {MAX_SPANS} objects")
    spans = [_check_span(s, k, duration) for k, s in enumerate(spans)]
    unexplained = sorted(set(placeholders(text)) - {s["label"] for s in spans})
    if unexplained:
        raise RecordError(f"masked_transcript has placeholders {unexplained} with no span")
    warning = record["content_warning"]
    if not isinstance(warning, bool):
        raise RecordError("content_warning must be true or false")
    categories = record["categories"]
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
        raise RecordError("categories must be a list of strings")
    unknown = sorted(set(categories) - set(SPECIAL))
    if unknown:
        raise RecordError(f"categories {unknown} are not special categories {list(SPECIAL)}")
    if warning != bool(categories):
        raise RecordError("content_warning must be true exactly when categories is not empty")
    expires = parse_time(record["expires_at"])
    now = now or datetime.now(UTC).replace(tzinfo=None)
    if expires <= now:
        raise RecordError(f"the clip expired at {record['expires_at']}")
    linkage = record["linkage"]
    if not isinstance(linkage, str) or not LINKAGE.match(linkage):
        raise RecordError("linkage must be an opaque token of 8-128 letters, digits, '-', '_'")
    receipt = record["receipt_sha256"]
    if not isinstance(receipt, str) or not SHA256.match(receipt):
        raise RecordError("receipt_sha256 must be 64 lower-case hex digits")
    return ClipRecord(
        clip_id, text, spans, warning, sorted(categories), expires, duration, linkage, receipt
    )


def check_wav(data: bytes, *, duration: float | None = None) -> float:
    """Check that ``data`` is one clean mono 16 kHz 16-bit PCM WAV; return its seconds.

    Exactly one ``fmt `` and one ``data`` chunk laid out within the file (a second data
    chunk could hide audio from a reader that stops at the first).

    Args:
        data: the file's bytes.
        duration: the record's duration; the audio must match it within 20 ms.

    Raises:
        RecordError: what is wrong with the file.
    """
    if len(data) < 44 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RecordError("the audio is not a WAV file (no RIFF/WAVE header)")
    if struct.unpack("<I", data[4:8])[0] + 8 != len(data):
        raise RecordError("corrupt WAV: the RIFF size does not match the file's length")
    chunks: dict[bytes, list[tuple[int, int]]] = {}
    pos = 12
    while pos < len(data):
        if pos + 8 > len(data):
            raise RecordError(f"corrupt WAV: a truncated chunk header at byte {pos}")
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if pos + 8 + size > len(data):
            raise RecordError(f"corrupt WAV: chunk {cid!r} runs past the end of the file")
        chunks.setdefault(cid, []).append((pos + 8, size))
        pos += 8 + size + (size & 1)
    if len(chunks.get(b"fmt ", [])) != 1 or len(chunks.get(b"data", [])) != 1:
        raise RecordError("corrupt WAV: expected exactly one fmt and one data chunk")
    (fpos, fsize), (_, dsize) = chunks[b"fmt "][0], chunks[b"data"][0]
    if fsize < 16:
        raise RecordError("corrupt WAV: a short fmt chunk")
    fmt, channels, rate, _, align, bits = struct.unpack("<HHIIHH", data[fpos : fpos + 16])
    if fmt not in (1, 0xFFFE) or bits != 16 or channels != 1 or rate != SAMPLE_RATE:
        raise RecordError(
            f"the audio must be 16-bit PCM mono {SAMPLE_RATE} Hz "
            f"(got format {fmt}, {bits} bits, {channels} channel(s), {rate} Hz)"
        )
    if align != 2 or dsize % 2:
        raise RecordError("corrupt WAV: the data chunk is not whole 16-bit samples")
    seconds = dsize / 2 / SAMPLE_RATE
    if seconds <= 0:
        raise RecordError("the audio holds no samples")
    if duration is not None and abs(seconds - duration) > 0.02:
        raise RecordError(f"the audio lasts {seconds:.3f} s but the record says {duration} s")
    return seconds


def check_correction(original: str, label: str, text: Any) -> str:
    """The transcript a submission stores for ``label``, checked against the clip's.

    ``correct`` stores the masked transcript as it was; ``unintelligible`` and ``not_speech``
    store nothing. ``corrected`` must keep the placeholders exactly (same labels, same
    order): a reviewer cannot un-mask ``[PERSON]`` or add a new bracketed label.

    Raises:
        RecordError: an unknown label, or a correction that changes the placeholders.
    """
    if label not in LABELS:
        raise RecordError(f"label={label!r}: one of {', '.join(LABELS)}")
    if label == "correct":
        if text not in (None, original):
            raise RecordError("label 'correct' keeps the transcript; use 'corrected' to edit it")
        return original
    if label in ("unintelligible", "not_speech"):
        return ""
    text = " ".join(check_transcript(text, "text").split())
    if not text:
        raise RecordError("a correction cannot be empty; use 'unintelligible' or 'not_speech'")
    if placeholders(text) != placeholders(original):
        raise RecordError(
            f"a correction must keep the placeholders {placeholders(original)} in order "
            f"(got {placeholders(text)}): masked details stay masked"
        )
    if "[" in PLACEHOLDER.sub("", text) or "]" in PLACEHOLDER.sub("", text):
        raise RecordError("a correction cannot add brackets beyond the placeholders")
    return text
