"""The text transformation: words covered by spans become ``[LABEL]`` placeholders.

>>> from redaction.spans import Span
>>> mask("call john at five five five one two three four".split(),
...      [Span("PERSON", 1, 2), Span("PHONE_NUMBER", 3, 10)])
'call [PERSON] at [PHONE_NUMBER]'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from redaction.spans import Span

_KEEP_TRAILING = ".,?!;:"


def mask(words: Sequence[str], spans: Iterable[Span]) -> str:
    """The transcript with one placeholder per span (a span covers whole words).

    Overlapping spans become one placeholder for their union, named after the span that starts
    first (the longest, on a tie). Sentence punctuation that Whisper attached to the last masked
    word is kept ("[PHONE_NUMBER]."), since it says nothing about the value.

    Raises:
        ValueError: a span reaches past the last word (masking nothing there would leak).
    """
    ordered = sorted(spans, key=lambda s: (s.start, -(s.end - s.start)))
    for s in ordered:
        if s.end > len(words):
            raise ValueError(f"span {s.label} [{s.start}, {s.end}) is past the {len(words)} words")
    out: list[str] = []
    i = 0
    k = 0
    while i < len(words):
        while k < len(ordered) and ordered[k].end <= i:
            k += 1
        if k < len(ordered) and ordered[k].start <= i:
            label, end = ordered[k].label, ordered[k].end
            j = k + 1
            while j < len(ordered) and ordered[j].start < end:  # union of overlapping spans
                end = max(end, ordered[j].end)
                j += 1
            last = words[end - 1]
            tail = last[len(last.rstrip(_KEEP_TRAILING)) :] if last.rstrip(_KEEP_TRAILING) else ""
            out.append(f"[{label}]{tail}")
            i, k = end, j
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)
