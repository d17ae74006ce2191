"""Street addresses: a house number, a street name, a street type, and an optional unit.

"one twenty three maple street", "four five six west forty second street apartment four b",
Whisper's "123 Maple St., Apt 4B". Without a house number a street name is a place anyone may
mention ("the shop on main street"); it counts only after "I live on", "my address is" and the like.
"""

from __future__ import annotations

import re

from redaction.numbers import NumberRun
from redaction.pii.doc import Doc
from redaction.pii.lexicon import (
    DIRECTIONS,
    FUNCTION_WORDS,
    MEASURE_UNITS,
    STREET_SUFFIXES,
    USPS_SUFFIXES,
    words,
)
from redaction.pii.person import word_class
from redaction.pii.recognizer import Recognizer
from redaction.spans import Span

UNIT_WORDS = words("apartment apt unit suite ste flat room floor # no number")
ADDRESS_CUES = words("address live lives living located moved moving house home")
_NOT_STREET = (
    FUNCTION_WORDS | MEASURE_UNITS | words("minute hour mile long short drive way street road lane")
)


class StreetAddressRecognizer(Recognizer):
    """House number + up to three street-name words (or an ordinal) + a street type (+ a unit)."""

    labels = ("STREET_ADDRESS",)

    def __init__(self, *, max_name_words: int = 3) -> None:
        self.max_name_words = max_name_words

    def analyze(self, doc: Doc) -> list[Span]:
        out = []
        for k, w in enumerate(doc.base):
            if w in USPS_SUFFIXES and w not in STREET_SUFFIXES:
                start = self._start(doc, k, named=True)  # "kevin burgs", not "ten key points"
                if start is not None:
                    out.append(self.span("STREET_ADDRESS", start, _unit_end(doc, k + 1), 0.85))
                continue
            if w not in STREET_SUFFIXES or (w in ("dr", "st") and not doc.written):
                continue
            start = self._start(doc, k)
            if start is not None:
                out.append(self.span("STREET_ADDRESS", start, _unit_end(doc, k + 1), 0.9))
                continue
            cue_start = self._cued_start(doc, k)
            if cue_start is not None:
                out.append(self.span("STREET_ADDRESS", cue_start, _unit_end(doc, k + 1), 0.7))
        return out

    def _start(self, doc: Doc, k: int, *, named: bool = False) -> int | None:
        """First word of "<house number> <name> <suffix at k>", or None; ``named``: the street
        name must hold a person's name, a capital, a rare word or an ordinal."""
        pos, units = k, 0
        while units < self.max_name_words and pos > 0:
            run = doc.run_ending(pos)
            if run is not None and run.ordinal:  # "... forty second street"
                house = [c for c in run.chunks[:-1]]
                if house and _house_number("".join(c.digits for c in house)):
                    return run.start
                pos, units = run.chunks[-1].start, units + 1
            elif _street_word(doc, pos - 1) and (not named or _named(doc, pos - 1)):
                pos, units = pos - 1, units + 1
            else:
                return None
            house_run = doc.run_ending(pos)
            if house_run is not None and not house_run.ordinal and _house_run(house_run):
                return house_run.start
        return None

    def _cued_start(self, doc: Doc, k: int) -> int | None:
        for n in range(1, self.max_name_words + 1):
            s = k - n
            if s < 1 or not all(_street_word(doc, t) for t in range(s, k)):
                return None
            if doc.base[s - 1] in ("on", "at") and doc.cue_within(s - 1, k, ADDRESS_CUES, 4):
                return s
        return None


def _street_word(doc: Doc, i: int) -> bool:
    w = doc.base[i]
    return (
        i not in doc.run_at
        and re.fullmatch(r"[a-z][a-z'.-]*", w) is not None
        and (w not in _NOT_STREET or w in DIRECTIONS)
    )


def _named(doc: Doc, i: int) -> bool:
    return doc.base[i] in DIRECTIONS or bool(word_class(doc, i)) or doc.capitalized(i)


def _house_number(digits: str) -> bool:
    return 1 <= len(digits) <= 6 and digits[0] != "0"


def _house_run(run: NumberRun) -> bool:
    return run.kind in ("spoken", "digits") and _house_number(run.digits)


def _unit_end(doc: Doc, j: int) -> int:
    """Extend past "apartment four b", "apt 4B", "#12", "suite two hundred"."""
    if j < len(doc) and doc.norm[j].startswith("#") and len(doc.norm[j]) > 1:
        return j + 1
    if j + 1 >= len(doc) or doc.base[j] not in UNIT_WORDS:
        return j
    nxt = j + 1
    if (run := doc.run_starting(nxt)) is not None:
        end = run.end
    elif re.fullmatch(r"\d+[a-z]?|[a-z]\d*", doc.norm[nxt]):
        end = nxt + 1
    else:
        return j
    if end < len(doc) and re.fullmatch(r"[a-h]", doc.norm[end]):
        end += 1
    return end
