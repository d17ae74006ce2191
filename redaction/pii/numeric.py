"""Identifiers made of digits: phone numbers, payment cards, US social security numbers.

All three read the number runs of :mod:`redaction.numbers`, so "five five five one two three four",
"double five five ..." and Whisper's "555-1234" are the same digits to them. Runs that say an
amount, a time, a date or a measure ("twenty five minutes", "two thousand and five") are not
identifiers.
"""

from __future__ import annotations

import re

from redaction.numbers import NumberRun
from redaction.pii.doc import Doc
from redaction.pii.lexicon import MEASURE_UNITS, words
from redaction.pii.recognizer import Recognizer
from redaction.spans import Span

CURRENCY = words(
    "dollar dollars bucks buck cents cent euro euros pound pounds quid yen rupees pesos"
)
SSN_CUES = words("social security ssn ssns taxpayer itin")
CARD_CUES = words(
    "card cards credit debit visa mastercard amex discover account expiring expires cvv"
)
PHONE_CUES = words(
    """call calling dial phone phones number numbers cell cellphone mobile reach text texting fax
    contact contacts landline telephone tel ring extension voicemail"""
)
LAST_DIGITS_CUES = (("ending",), ("ends",), ("end",), ("last", "four"), ("last", "4"))


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def identifier_like(doc: Doc, run: NumberRun) -> bool:
    """A run that could be an identifier: digits said one by one or in groups, not an amount,
    a time or a measure, and no "thousand"/"million" (only "eight hundred" in 1-800 numbers)."""
    if run.kind not in ("spoken", "digits") or run.ordinal:
        return False
    for c in run.chunks:
        if c.multiplied and (c.value is None or c.value >= 1000 or c.value % 100):
            return False
    nxt = doc.base[run.end] if run.end < len(doc) else ""
    if nxt in CURRENCY or nxt in MEASURE_UNITS:
        return False
    return not doc.words[run.start].lstrip("([").startswith(("$", "€", "£"))


def _cue(doc: Doc, run: NumberRun, cues: frozenset[str], window: int) -> bool:
    return bool(cues & set(doc.before(run.start, window)))


class PhoneRecognizer(Recognizer):
    """North American numbers: 7 digits, 10, or 11 starting with 1; 8 to 12 after a phone cue."""

    labels = ("PHONE_NUMBER",)

    def __init__(self, *, cue_window: int = 6) -> None:
        self.cue_window = cue_window

    def analyze(self, doc: Doc) -> list[Span]:
        out = []
        for run in doc.runs:
            if not identifier_like(doc, run):
                continue
            n, d = len(run.digits), run.digits
            cue = _cue(doc, run, PHONE_CUES, self.cue_window)
            if n == 10 or (n == 11 and d[0] == "1"):
                score = 0.95 if cue else 0.8
            elif n == 7:
                score = 0.85 if cue else 0.6
            elif 8 <= n <= 12 and cue:
                score = 0.65  # a digit too many or too few, most likely
            else:
                continue
            if _cue(doc, run, SSN_CUES, 8) and n == 9:
                continue
            out.append(self.span("PHONE_NUMBER", run.start, run.end, score))
        return out


class CreditCardRecognizer(Recognizer):
    """13 to 19 digits passing the Luhn check (or after a card cue), and "card ending in 4242"."""

    labels = ("CREDIT_CARD",)

    def __init__(self, *, cue_window: int = 8) -> None:
        self.cue_window = cue_window

    def analyze(self, doc: Doc) -> list[Span]:
        out = []
        for run in doc.runs:
            if not identifier_like(doc, run):
                continue
            n = len(run.digits)
            if 13 <= n <= 19:
                if luhn_ok(run.digits):
                    score = 0.95
                elif _cue(doc, run, CARD_CUES, self.cue_window):
                    score = 0.75  # a digit misheard breaks the checksum
                else:
                    score = 0.55
                out.append(self.span("CREDIT_CARD", run.start, run.end, score))
            elif n in (4, 5) and last_digits_cue(doc, run, 6) and not _cue(doc, run, SSN_CUES, 10):
                out.append(self.span("CREDIT_CARD", run.start, run.end, 0.85))
        return out


def last_digits_cue(doc: Doc, run: NumberRun, window: int) -> bool:
    """ "ending in", "ends with", "last four (digits of ...)" shortly before the run."""
    return doc.cue_before(run.start, LAST_DIGITS_CUES, window)


_WRITTEN_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")


def ssn_valid(digits: str) -> bool:
    """Area not 000, 666 or 9xx; group not 00; serial not 0000 (SSA rules)."""
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


class SsnRecognizer(Recognizer):
    """Nine digits (surer after "social security", or written 123-45-6789); "last four of my
    social" followed by four digits."""

    labels = ("US_SSN",)

    def __init__(self, *, cue_window: int = 8) -> None:
        self.cue_window = cue_window

    def analyze(self, doc: Doc) -> list[Span]:
        out = []
        for run in doc.runs:
            if not identifier_like(doc, run):
                continue
            cue = _cue(doc, run, SSN_CUES, self.cue_window) or doc.cue_before(
                run.start, [("s", "s", "n")], 4
            )
            if len(run.digits) == 9:
                if cue:
                    score = 0.95
                elif len(run.chunks) == 1 and _WRITTEN_SSN.match(doc.norm[run.start]):
                    score = 0.9
                else:
                    score = 0.6 if ssn_valid(run.digits) else 0.45
                out.append(self.span("US_SSN", run.start, run.end, score))
            elif len(run.digits) == 4 and cue and last_digits_cue(doc, run, 8):
                out.append(self.span("US_SSN", run.start, run.end, 0.85))
        return out
