"""E-mail addresses, written ("john.smith@example.com") or spoken ("john dot smith at example dot
com", "j smith eighty four at gmail dot com")."""

from __future__ import annotations

import re

from redaction.pii.doc import Doc
from redaction.pii.lexicon import FUNCTION_WORDS, words
from redaction.pii.recognizer import Recognizer
from redaction.spans import Span

_WRITTEN = re.compile(r"^[\w.+'-]+@[\w-]+(?:\.[\w-]+)+$")
TLDS = words(
    """com org net edu gov mil int io co uk us ca de fr es it nl au nz in jp cn br mx ie info biz
    me ai app dev tv fm ly eu ch se no dk fi pl be at ru za xyz online site email mail"""
)
SEPARATORS = words("dot period point underscore dash hyphen plus")
# Words that end the local part when walking back from "at".
_STOP = FUNCTION_WORDS | words(
    "email e-mail mail address send write forward contact reach is me account emails photos"
)


class EmailRecognizer(Recognizer):
    """A local part, "at" (or "@"), and a domain of labels joined by "dot" ending in a known TLD."""

    labels = ("EMAIL_ADDRESS",)

    def __init__(self, *, max_bare_words: int = 2) -> None:
        self.max_bare_words = max_bare_words

    def analyze(self, doc: Doc) -> list[Span]:
        out = []
        for i, w in enumerate(doc.norm):
            if _WRITTEN.match(w):
                out.append(self.span("EMAIL_ADDRESS", i, i + 1, 0.97))
            elif w in ("at", "@"):
                end = _domain_end(doc, i + 1)
                start = self._local_start(doc, i) if end else None
                if end and start is not None:
                    out.append(self.span("EMAIL_ADDRESS", start, end, 0.95))
        return out

    def _local_start(self, doc: Doc, at: int) -> int | None:
        start = _unit_before(doc, at)
        if start is None:
            return None
        bare = 1
        while start > 0:
            sep = doc.base[start - 1]
            if sep in SEPARATORS and (prev := _unit_before(doc, start - 1)) is not None:
                start, bare = prev, 1
            elif bare < self.max_bare_words and (prev := _unit_before(doc, start)) is not None:
                start, bare = prev, bare + 1
            elif bare == 1 and doc.base[start - 1] in ("a", "i") and start == at - 1:
                start, bare = start - 1, 2  # an initial: "a montero at ..." is amontero@
                break
            else:
                break
        return start


def _unit_before(doc: Doc, j: int) -> int | None:
    """Start of the piece of a local part that ends at word ``j`` (a word or a number run)."""
    if j <= 0:
        return None
    if (run := doc.run_ending(j)) is not None and run.kind in ("spoken", "digits"):
        return run.start
    w = doc.base[j - 1]
    if w in _STOP or w in SEPARATORS or not re.fullmatch(r"[a-z0-9][\w.'+-]*", w):
        return None
    return j - 1


def _domain_end(doc: Doc, j: int) -> int | None:
    """End of a domain starting at word ``j`` ("example dot com", "example.com"), else None."""
    if j >= len(doc):
        return None
    first = doc.norm[j]
    if "." in first:
        ok = re.fullmatch(r"[\w-]+(?:\.[\w-]+)+", first) and first.rsplit(".", 1)[-1] in TLDS
        return j + 1 if ok else None
    label = re.compile(r"[a-z0-9][\w-]*")
    labels: list[str] = []
    k, end = j, None
    while k < len(doc) and label.fullmatch(doc.norm[k]):
        labels.append(doc.norm[k])
        end = k + 1
        dot = k + 1 < len(doc) and doc.norm[k + 1] in ("dot", "period", "point")
        if dot and k + 2 < len(doc) and label.fullmatch(doc.norm[k + 2]):
            k += 2
        else:
            break
    return end if len(labels) >= 2 and labels[-1] in TLDS else None
