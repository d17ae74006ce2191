"""Runs the recognizers over a transcript and settles their disagreements into one span list.

    >>> from redaction.pii import detect
    >>> [(s.label, s.start, s.end) for s in detect("call john smith at five five five one two three four".split())]
    [('PERSON', 1, 3), ('PHONE_NUMBER', 4, 11)]

Conflicts between PII labels (the same words called a PERSON and a LOCATION) are settled by score,
then span length, then :data:`PRIORITY`; the loser keeps only the words nobody else claimed, so a
word found by anyone stays masked. Special-category spans (``HEALTH``...) never compete with PII.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from redaction.pii.doc import Doc
from redaction.pii.lexicon import FUNCTION_WORDS
from redaction.pii.recognizer import PII_LABELS, SPECIAL_LABELS, Recognizer
from redaction.spans import Span, merge

# Ties go to the more specific identifier.
_ORDER = (
    "EMAIL_ADDRESS CREDIT_CARD US_SSN PHONE_NUMBER STREET_ADDRESS DATE_OF_BIRTH AMOUNT "
    "ORGANIZATION PERSON LOCATION"
)
PRIORITY = {label: i for i, label in enumerate(_ORDER.split())}


class Analyzer:
    """A set of recognizers and a score threshold.

    Args:
        recognizers: the recognizers to run (built from config or :func:`default_recognizers`).
        min_score: spans scoring below this are dropped before conflicts are settled.
        special: whether special-category spans are returned (they are computed by whichever
            recognizers carry those labels).
    """

    def __init__(
        self, recognizers: Sequence[Recognizer], *, min_score: float = 0.5, special: bool = True
    ) -> None:
        if not recognizers:
            raise ValueError("an Analyzer needs at least one recognizer")
        self.recognizers = list(recognizers)
        self.min_score = min_score
        self.special = special

    def analyze(self, words: Sequence[str] | Doc) -> list[Span]:
        """Spans over ``words`` (word indices, end exclusive), sorted by position."""
        doc = words if isinstance(words, Doc) else Doc.of(words)
        if not len(doc):
            return []
        found = [s for r in self.recognizers for s in r.analyze(doc) if s.score >= self.min_score]
        pii = resolve([s for s in found if s.label in PII_LABELS], doc)
        special = merge([s for s in found if s.label in SPECIAL_LABELS]) if self.special else []
        return sorted(pii + special, key=lambda s: (s.start, s.end, s.label))

    __call__ = analyze

    def __repr__(self) -> str:
        return f"Analyzer({self.recognizers}, min_score={self.min_score})"


def resolve(spans: list[Span], doc: Doc | None = None) -> list[Span]:
    """One label per word: stronger spans first; a weaker one keeps only its unclaimed words
    (pieces left with nothing but function words such as "and" are dropped)."""
    kept: list[Span] = []
    order = sorted(merge(spans), key=lambda s: (-s.score, -(s.end - s.start), PRIORITY.get(s.label, 99)))  # fmt: skip
    for s in order:
        pieces = [(s.start, s.end)]
        for k in kept:
            pieces = [p for a, b in pieces for p in _subtract(a, b, k.start, k.end)]
        if doc is not None and pieces != [(s.start, s.end)]:
            pieces = [(a, b) for a, b in pieces if not set(doc.base[a:b]) <= FUNCTION_WORDS]
        kept += [replace(s, start=a, end=b) for a, b in pieces]
    return merge(kept)


def _subtract(a: int, b: int, c: int, d: int) -> list[tuple[int, int]]:
    if d <= a or b <= c:
        return [(a, b)]
    return [(x, y) for x, y in ((a, c), (d, b)) if x < y]


def default_recognizers(*, spacy: bool = False) -> list[Recognizer]:
    """The recognizers of ``conf/redaction/pii.yaml``, built without Hydra."""
    from redaction.pii.address import StreetAddressRecognizer
    from redaction.pii.dates import DateOfBirthRecognizer
    from redaction.pii.emails import EmailRecognizer
    from redaction.pii.money import AmountRecognizer
    from redaction.pii.numeric import CreditCardRecognizer, PhoneRecognizer, SsnRecognizer
    from redaction.pii.person import PersonRecognizer
    from redaction.pii.places import LocationRecognizer, OrganizationRecognizer
    from redaction.pii.special import SpecialCategoryRecognizer

    out: list[Recognizer] = [
        EmailRecognizer(),
        PhoneRecognizer(),
        CreditCardRecognizer(),
        SsnRecognizer(),
        StreetAddressRecognizer(),
        DateOfBirthRecognizer(),
        AmountRecognizer(),
        PersonRecognizer(),
        LocationRecognizer(),
        OrganizationRecognizer(),
        SpecialCategoryRecognizer(),
    ]
    if spacy:
        from redaction.pii.spacy_ner import SpacyNerRecognizer

        out.append(SpacyNerRecognizer())
    return out


@cache
def default_analyzer() -> Analyzer:
    """The default analyzer, built once per process."""
    return Analyzer(default_recognizers())


def _node(cfg: Any, key: str) -> Any:
    """``cfg.redaction.<key>``, ``cfg.<key>`` or ``cfg`` itself, whichever holds the node."""
    if "redaction" in cfg:
        cfg = cfg.redaction
    return cfg.get(key, cfg)


def from_config(cfg: Any) -> Analyzer:
    """An analyzer from ``conf/redaction/pii.yaml`` (its ``analyzer`` node, ``_target_`` leaves)."""
    from hydra.utils import instantiate

    return instantiate(_node(cfg, "analyzer"), _convert_="all")


def policy_from_config(cfg: Any) -> Any:
    """The :class:`~redaction.pii.special.SpecialPolicy` of ``conf/redaction/pii.yaml``."""
    from hydra.utils import instantiate

    return instantiate(_node(cfg, "special_policy"), _convert_="all")


def detect(words: Sequence[str]) -> list[Span]:
    """PII and special-category spans over ``words`` with the default analyzer."""
    return default_analyzer().analyze(words)
