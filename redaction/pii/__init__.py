"""PII detection over transcripts (word spans) and the text transformation that masks them.

Detection and transformation are separate halves that meet in :class:`redaction.spans.Span`:

    >>> from redaction.pii import detect, mask
    >>> words = "call john smith at five five five one two three four".split()
    >>> mask(words, detect(words))
    'call [PERSON] at [PHONE_NUMBER]'

Recognizers (one idea each) are listed in ``conf/redaction/pii.yaml`` and built with
``hydra.utils.instantiate`` (:func:`from_config`), or without Hydra by :func:`default_analyzer`.
Special categories (health, sex life, religion, politics, ethnicity) come back as spans with those
labels; :func:`special_categories` says which fired and :class:`SpecialPolicy` what that means for
the clip. Command line: ``python -m redaction.pii`` (JSON lines) and
``python -m redaction.pii.metrics`` (held-out figures).
"""

from __future__ import annotations

from collections.abc import Sequence

from redaction.pii.analyzer import (
    Analyzer,
    default_analyzer,
    default_recognizers,
    detect,
    from_config,
    policy_from_config,
)
from redaction.pii.mask import mask
from redaction.pii.recognizer import PII_LABELS, SPECIAL_LABELS, Recognizer
from redaction.pii.special import Action, Decision, SpecialPolicy, categories


def special_categories(words: Sequence[str]) -> set[str]:
    """Which special categories fired on ``words`` (e.g. ``{"HEALTH"}``)."""
    return categories(detect(words))


__all__ = [
    "PII_LABELS",
    "SPECIAL_LABELS",
    "Action",
    "Analyzer",
    "Decision",
    "Recognizer",
    "SpecialPolicy",
    "categories",
    "default_analyzer",
    "default_recognizers",
    "detect",
    "from_config",
    "mask",
    "policy_from_config",
    "special_categories",
]
