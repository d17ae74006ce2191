"""Dates of birth: a date shortly after "born", "birthday", "date of birth", "DOB".

Dates alone are not PII here ("remind me on march third"); a birth cue makes them so. The date
may be "march third nineteen eighty four", "the fifth of june two thousand and one",
"oh three oh four eighty four", Whisper's "March 3rd, 1984" or "03/04/1984", or a year alone
("born in nineteen eighty four").
"""

from __future__ import annotations

from redaction.pii.doc import Doc
from redaction.pii.lexicon import MONTH_ABBR, MONTHS, words
from redaction.pii.recognizer import Recognizer
from redaction.spans import Span

BIRTH_CUES = words("born birthday birthdate dob bday birth")
_MONTHS = frozenset(MONTHS) | frozenset(MONTH_ABBR)


class DateOfBirthRecognizer(Recognizer):
    """A date starting within ``window`` words after a birth cue."""

    labels = ("DATE_OF_BIRTH",)

    def __init__(self, *, window: int = 5) -> None:
        self.window = window

    def analyze(self, doc: Doc) -> list[Span]:
        out: list[Span] = []
        for c, w in enumerate(doc.base):
            if w not in BIRTH_CUES and doc.base[c : c + 3] != ("d", "o", "b"):
                continue
            for p in range(c + 1, min(len(doc), c + 1 + self.window)):
                end = date_end(doc, p)
                if end is not None:
                    if not any(s.start <= p < s.end for s in out):
                        out.append(self.span("DATE_OF_BIRTH", p, end, 0.9))
                    break
        return out


def _day_or_year_run_end(doc: Doc, i: int) -> int | None:
    run = doc.run_starting(i)
    if run is None or run.kind in ("money", "percent", "time", "decimal"):
        return None
    return run.end


def date_end(doc: Doc, p: int) -> int | None:
    """End of a date expression starting at word ``p``, else None."""
    w = doc.base[p]
    run = doc.run_starting(p)
    if w in _MONTHS:  # march [third] [nineteen eighty four]
        end = p + 1
        for _ in range(2):
            nxt = _day_or_year_run_end(doc, end)
            if nxt is None and end < len(doc) and doc.base[end] == "of":
                nxt = _day_or_year_run_end(doc, end + 1)
            if nxt is None:
                break
            end = nxt
        return end if end > p + 1 else None
    if w == "the" and (r := doc.run_starting(p + 1)) is not None and r.ordinal:
        return date_end(doc, p + 1)
    if run is None:
        return None
    if run.kind == "date":
        return run.end
    if run.ordinal or (run.value is not None and 1 <= run.value <= 31 and run.end < len(doc)):
        # the fifth of june [two thousand and one] / 3 March 1984
        k = run.end + (1 if run.end < len(doc) and doc.base[run.end] == "of" else 0)
        if k < len(doc) and doc.base[k] in _MONTHS:
            return _day_or_year_run_end(doc, k + 1) or k + 1
    if run.kind in ("spoken", "digits") and not run.ordinal:
        n = len(run.digits)
        if 6 <= n <= 8:  # oh three oh four eighty four / 03041984
            return run.end
        if n == 4 and 1900 <= int(run.digits) <= 2030:  # born in nineteen eighty four
            return run.end
    return None
