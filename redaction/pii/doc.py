"""A transcript prepared once for all recognizers: cleaned words, number runs, capitals, context.

Recognizers never re-tokenize: every index they see is a word index of the transcript as given,
so the spans they return point at the exact words to mask or bleep.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from redaction.numbers import NumberRun, clean, ends_sentence, number_runs


def base_form(word: str) -> str:
    """A cleaned word without a possessive (``"John's"`` -> ``john``)."""
    w = clean(word).replace("’", "'")
    return w[:-2] if w.endswith("'s") and len(w) > 3 else w


@dataclass
class Doc:
    """One transcript.

    Attributes:
        words: the words as given (Whisper's case and punctuation kept).
        norm: each word cleaned (lower case, surrounding punctuation removed).
        base: ``norm`` without possessives.
        runs: the number runs (:func:`redaction.numbers.number_runs`).
        written: the transcript looks Whisper-written (capitals, digits or punctuation), so
            capital letters carry information.
    """

    words: tuple[str, ...]
    norm: tuple[str, ...] = field(init=False)
    base: tuple[str, ...] = field(init=False)
    runs: tuple[NumberRun, ...] = field(init=False)
    written: bool = field(init=False)

    def __post_init__(self) -> None:
        self.words = tuple(self.words)
        self.norm = tuple(clean(w) for w in self.words)
        self.base = tuple(base_form(w) for w in self.words)
        self.runs = tuple(number_runs(self.words))
        self.written = any(w != w.lower() or not w.isalnum() for w in self.words if "'" not in w)

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def of(cls, words: Sequence[str] | str) -> Doc:
        """A Doc from a word list, or from a plain sentence split on spaces."""
        return cls(tuple(words.split() if isinstance(words, str) else words))

    @cached_property
    def run_at(self) -> dict[int, NumberRun]:
        """Word index -> the number run covering it."""
        return {i: r for r in self.runs for i in range(r.start, r.end)}

    def run_starting(self, i: int) -> NumberRun | None:
        """The number run whose first word is ``i``, else None."""
        r = self.run_at.get(i)
        return r if r is not None and r.start == i else None

    def run_ending(self, j: int) -> NumberRun | None:
        """The run whose last word is ``j - 1``."""
        r = self.run_at.get(j - 1)
        return r if r is not None and r.end == j else None

    def sentence_start(self, i: int) -> bool:
        """Whether word ``i`` starts a sentence (first word, or after Whisper's full stop)."""
        return i == 0 or ends_sentence(self.words[i - 1])

    def capitalized(self, i: int) -> bool:
        """A capital that Whisper would not write for an ordinary word: not sentence-initial."""
        w = self.words[i].lstrip("\"'([")
        return self.written and w[:1].isupper() and not self.sentence_start(i) and w != "I"

    def before(self, i: int, n: int) -> tuple[str, ...]:
        """Up to ``n`` base words ending just before word ``i``."""
        return self.base[max(0, i - n) : i]

    def after(self, j: int, n: int) -> tuple[str, ...]:
        """Up to ``n`` base words starting at word ``j``."""
        return self.base[j : j + n]

    def cue_before(self, i: int, cues: Iterable[str | tuple[str, ...]], window: int = 1) -> bool:
        """Whether a cue word or phrase ends within ``window`` words before word ``i``
        (``window=1``: right before it)."""
        for gap in range(window):
            end = i - gap
            for cue in cues:
                phrase = (cue,) if isinstance(cue, str) else cue
                if end - len(phrase) >= 0 and self.base[end - len(phrase) : end] == phrase:
                    return True
        return False

    def cue_within(self, i: int, j: int, cues: Iterable[str], before: int, after: int = 0) -> bool:
        """Whether one of ``cues`` (single words) occurs within ``before`` words before ``i`` or
        ``after`` words after ``j``."""
        cue_set = set(cues)
        return bool(cue_set & set(self.before(i, before))) or bool(
            cue_set & set(self.after(j, after))
        )

    def spacy(self, nlp: Any) -> Any:
        """The transcript run through a spaCy pipeline, one spaCy token per word (cached)."""
        cache = self.__dict__.setdefault("_spacy", {})
        if id(nlp) not in cache:
            from spacy.tokens import Doc as SpacyDoc

            words = [w.strip(".,!?;:\"'()") or w for w in self.words]
            if not self.written:
                words = list(self.norm)
            cache[id(nlp)] = nlp(SpacyDoc(nlp.vocab, words=[w or "_" for w in words]))
        return cache[id(nlp)]
