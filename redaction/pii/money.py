"""Money amounts (label ``AMOUNT``).

Decision: every amount of money counts, as the issue lists AMOUNT among the entities: a number with
a currency word or sign ("twenty dollars", "$4.99", "€291", "forty two dollars and fifty cents"),
and a bare price after a price or payment cue ("the price is four ninety nine", "it costs
nineteen ninety nine", "pay john twenty"). Numbers that are not money never count: timers and
durations, counts, years (also in music requests), temperatures, times of day, measures, scores.
"Pounds" is money only after a payment cue (otherwise it is a weight).
"""

from __future__ import annotations

from redaction.numbers import NumberRun
from redaction.pii.doc import Doc
from redaction.pii.lexicon import MEASURE_UNITS, words
from redaction.pii.recognizer import Recognizer
from redaction.spans import Span

CURRENCY_WORDS = words("dollar dollars bucks buck cents cent euro euros quid yen rupee rupees pesos peso grand")  # fmt: skip
PAYMENT_CUES = words(
    """pay paid pays paying send sent owe owes owed cost costs costing price priced prices
    transfer transferred wire spend spent charge charged charges bill refund refunded lend lent
    borrow borrowed worth total balance tip deposit deposited withdraw withdrew budget fee
    salary rent donate donated venmo zelle"""
)
_NOT_MONEY_KINDS = ("time", "date", "percent", "ordinal", "decade")


class AmountRecognizer(Recognizer):
    """Money: currency words and signs, and bare prices after a payment cue."""

    labels = ("AMOUNT",)

    def __init__(self, *, cue_window: int = 3) -> None:
        self.cue_window = cue_window

    def analyze(self, doc: Doc) -> list[Span]:
        out: list[Span] = []
        for run in doc.runs:
            if run.kind in _NOT_MONEY_KINDS or (out and run.start < out[-1].end):
                continue
            if run.kind == "money":
                out.append(self.span("AMOUNT", run.start, _cents_end(doc, run.end), 0.95))
                continue
            nxt = doc.base[run.end] if run.end < len(doc) else ""
            cue = bool(PAYMENT_CUES & set(doc.before(run.start, self.cue_window)))
            if nxt in CURRENCY_WORDS or (nxt == "pounds" and _payment_nearby(doc, run)):
                out.append(self.span("AMOUNT", run.start, _cents_end(doc, run.end + 1), 0.95))
            elif cue and _bare_price(doc, run, nxt):
                out.append(self.span("AMOUNT", run.start, run.end, 0.75))
        return out


def _payment_nearby(doc: Doc, run: NumberRun) -> bool:
    return bool(PAYMENT_CUES & set(doc.before(run.start, 6)))


def _bare_price(doc: Doc, run: NumberRun, nxt: str) -> bool:
    """A number after a payment cue that is not a measure or an identifier ("four ninety nine")."""
    if nxt in MEASURE_UNITS or run.ordinal or len(run.digits) > 6:
        return False
    return run.kind in ("spoken", "digits", "decimal")


def _cents_end(doc: Doc, j: int) -> int:
    """Extend "twenty dollars" over "and fifty cents"."""
    k = j + (1 if j < len(doc) and doc.base[j] == "and" else 0)
    run = doc.run_starting(k)
    if run is not None and run.end < len(doc) and doc.base[run.end] in ("cents", "cent", "pence"):
        return run.end + 1
    return j
