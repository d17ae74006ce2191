"""PersonRecognizer: gazetteer names, cue words, Whisper's capitals, ordinary words that are names."""

from __future__ import annotations

import pytest

from redaction.pii.doc import Doc
from redaction.pii.person import PersonRecognizer

R = PersonRecognizer()


def found(text: str) -> list[str]:
    doc = Doc.of(text)
    return [" ".join(doc.words[s.start : s.end]) for s in R.analyze(doc) if s.score >= 0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call john smith", ["john smith"]),
        ("text priya that i'm running late", ["priya"]),
        ("remind me to call mark tomorrow", ["mark"]),  # "mark" is also a verb
        ("my name is jadwiga porras", ["jadwiga porras"]),  # "jadwiga": in no list
        ("call bahadurjit", ["bahadurjit"]),  # unknown name, strong cue
        ("video call priya and sarah", ["priya", "sarah"]),
        ("priya patel left a message", ["priya patel"]),  # no cue: known names
        ("ruggiero said she'd be late", ["ruggiero"]),  # unknown name, "said" after
        ("what's fabrizia's phone number", ["fabrizia's"]),
        ("my doctor is doctor patel", ["patel"]),  # the title is not the name
        ("send forty dollars to gunilla", ["gunilla"]),
        ("add calcedonio ferrara to my contacts", ["calcedonio ferrara"]),
        ("call leia spies at five", ["leia spies"]),  # a common-word surname before "at"
        ("Call Will at 555-1234.", ["Will"]),
        ("Text Grace that dinner is ready.", ["Grace"]),
    ],
)  # fmt: skip
def test_names(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "will it rain tomorrow",
        "mark this email as read",
        "call mom",
        "grace period for the loan",
        "the hunter went home",
        "play some jazz music",
        "Will it rain tomorrow?",
        "set a timer for twenty five minutes",
        "what's the weather like in may",
        "take the lincoln street exit",
    ],
)
def test_not_names(text):
    assert found(text) == []
