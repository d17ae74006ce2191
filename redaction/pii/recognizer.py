"""The recognizer interface: one small class per idea, each returning spans over word indices."""

from __future__ import annotations

from abc import ABC, abstractmethod

from redaction.pii.doc import Doc
from redaction.spans import Span

# PII labels (the list) and the special categories (GDPR art. 9 style).
PII_LABELS = (
    "PERSON",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "US_SSN",
    "EMAIL_ADDRESS",
    "STREET_ADDRESS",
    "DATE_OF_BIRTH",
    "LOCATION",
    "ORGANIZATION",
    "AMOUNT",
)
SPECIAL_LABELS = ("HEALTH", "SEXUAL_LIFE", "RELIGION", "POLITICS", "ETHNICITY")


class Recognizer(ABC):
    """Finds one kind of entity in a :class:`~redaction.pii.doc.Doc`.

    Subclasses set :attr:`labels` and implement :meth:`analyze`. Scores are in [0, 1]; the analyzer
    keeps spans at or above its ``min_score``, so a recognizer may report weak evidence low.
    """

    labels: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The recognizer's name, written into each span's ``source``."""
        return type(self).__name__

    @abstractmethod
    def analyze(self, doc: Doc) -> list[Span]:
        """Spans (word indices, end exclusive) of the entities found in ``doc``."""

    def span(self, label: str, start: int, end: int, score: float) -> Span:
        """A span from this recognizer, its score clipped to [0, 1]."""
        return Span(label, start, end, round(min(max(score, 0.0), 1.0), 3), self.name)

    def __repr__(self) -> str:
        return f"{self.name}()"
