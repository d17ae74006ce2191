"""Is a PII value still recoverable from what a listener heard in a redacted clip?

A gold entity (its words in the reference transcript) is reduced to what would identify it:

* its **digits** (the spoken-number normalizer, :mod:`redaction.numbers`): a run of three or
  more digits is recovered when any four consecutive digits of it (all of a run of three or
  four) appear in the listener's transcript, read the same way; four digits of a card or a
  phone number are already what "card ending in" gives away;
* its **distinctive words** (names, streets, places, companies, e-mail user names): recovered
  when any of them appears among the listener's words. Generic words (street types, "dot",
  "at", "dollars", month names, ...) and words shorter than three letters do not count.

Deliberately strict: a word that happens to recur elsewhere in the clip counts as a leak.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from redaction.numbers import normalize
from redaction.pii.lexicon import MONTHS

GENERIC = frozenset(
    [
        "street",
        "st",
        "avenue",
        "ave",
        "road",
        "rd",
        "court",
        "ct",
        "lane",
        "ln",
        "drive",
        "dr",
        "boulevard",
        "blvd",
        "way",
        "place",
        "pl",
        "parkway",
        "circle",
        "terrace",
        "trail",
        "square",
        "highway",
        "apartment",
        "apt",
        "suite",
        "unit",
        "north",
        "south",
        "east",
        "west",
        "dot",
        "at",
        "com",
        "org",
        "net",
        "edu",
        "gov",
        "underscore",
        "dash",
        "dollars",
        "dollar",
        "cents",
        "cent",
        "and",
        "the",
        "of",
        "for",
        "to",
        "in",
        "on",
        "my",
        "is",
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "mister",
        "missus",
        "miss",
        "doctor",
        "doc",
    ]
) | frozenset(MONTHS)


def _clean(word: str) -> str:
    return re.sub(r"[^a-z0-9']", "", word.lower()).strip("'")


@dataclass(frozen=True)
class Secret:
    """What identifies one gold entity."""

    label: str
    digit_runs: tuple[str, ...]
    words: tuple[str, ...]

    @property
    def checkable(self) -> bool:
        return bool(self.digit_runs or self.words)


def secret(words: Sequence[str], start: int, end: int, label: str) -> Secret:
    """The identifying parts of the entity ``words[start:end]``."""
    part = list(words[start:end])
    norm = normalize(part)
    runs = tuple(t for t in norm.tokens if t.isdigit() and len(t) >= 3)
    numeric = {i for r in norm.runs for i in range(r.start, r.end)}
    distinctive = tuple(
        w
        for i, w in enumerate(_clean(x) for x in part)
        if i not in numeric and len(w) >= 3 and w not in GENERIC and not w.isdigit()
    )
    return Secret(label, runs, distinctive)


def heard(words: Sequence[str]) -> tuple[list[str], set[str]]:
    """A listener's transcript as digit runs and words."""
    norm = normalize(list(words))
    runs = [t for t in norm.tokens if t.isdigit()]
    # a transcript may split one number over several runs ("five five five, one two")
    runs.append("".join(runs))
    return runs, {_clean(w) for w in words} - {""}


def recovered(s: Secret, listener_words: Sequence[str]) -> bool:
    runs, vocab = heard(listener_words)
    for value in s.digit_runs:
        k = min(4, len(value))
        windows = {value[i : i + k] for i in range(len(value) - k + 1)}
        if any(w in r for w in windows for r in runs):
            return True
    return any(w in vocab for w in s.words)
