"""The span: what detection hands to transformation (``../shared/DESIGN.md``, "Span").

Detection (``redaction.pii``) produces spans over a transcript's words; transformations
(masking the transcript, bleeping the audio, anonymizing) consume them. Text and audio never
travel apart from their spans.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Span:
    """A labelled run of words ``[start, end)`` (word indices, end exclusive).

    Attributes:
        label: the entity type (``PERSON``, ``PHONE_NUMBER``, ... or a special category).
        start, end: word indices into the transcript, ``0 <= start < end``.
        score: the detector's confidence in [0, 1].
        source: which recognizer (and, in the redact path, which transcriber) found it.
        t_start, t_end: seconds in the audio, once aligned through word times.
    """

    label: str
    start: int
    end: int
    score: float = 1.0
    source: str = ""
    t_start: float | None = None
    t_end: float | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.start, int) and isinstance(self.end, int)):
            raise TypeError(f"span word indices must be integers, not {self.start!r}, {self.end!r}")
        if not 0 <= self.start < self.end:
            raise ValueError(f"span [{self.start}, {self.end}) is empty or negative")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"span score {self.score} is outside [0, 1]")

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def with_times(self, t_start: float, t_end: float) -> Span:
        return replace(self, t_start=t_start, t_end=t_end)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != ""}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Span:
        return cls(
            label=str(d["label"]),
            start=int(d["start"]),
            end=int(d["end"]),
            score=float(d.get("score", 1.0)),
            source=str(d.get("source", "")),
            t_start=d.get("t_start"),
            t_end=d.get("t_end"),
        )


def merge(spans: list[Span]) -> list[Span]:
    """Spans sorted by position, overlapping ones of the same label joined (highest score
    kept, sources joined). Overlaps of different labels are kept apart: both get redacted."""
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, -s.end, s.label)):
        for i, o in enumerate(out):
            if o.label == s.label and (o.overlaps(s) or o.end == s.start or s.end == o.start):
                sources = sorted({*o.source.split("+"), *s.source.split("+")} - {""})
                out[i] = replace(
                    o,
                    start=min(o.start, s.start),
                    end=max(o.end, s.end),
                    score=max(o.score, s.score),
                    source="+".join(sources),
                )
                break
        else:
            out.append(s)
    return sorted(out, key=lambda s: (s.start, s.end, s.label))
