"""LocationRecognizer and OrganizationRecognizer."""

from __future__ import annotations

import pytest

from redaction.pii.doc import Doc
from redaction.pii.places import LocationRecognizer, OrganizationRecognizer

LOC, ORG = LocationRecognizer(), OrganizationRecognizer()


def found(r, text: str) -> list[str]:
    doc = Doc.of(text)
    return [" ".join(doc.words[s.start : s.end]) for s in r.analyze(doc) if s.score >= 0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what's the weather in san francisco", ["san francisco"]),
        ("i'm flying to new york tomorrow", ["new york"]),
        ("how far is columbia from here", ["columbia"]),  # ambiguous, "how far is" is a cue
        ("weather in mobile", ["mobile"]),  # a city, after "in"
        ("Hotels in Paris, France", ["Paris,", "France"]),
        ("chicago is cold", ["chicago"]),
    ],
)
def test_locations(text, expected):
    assert found(LOC, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "my mobile phone is broken",
        "reading is fun",
        "turn on the nice lights",
        "how long do i cook a turkey",
        "take the lincoln avenue exit",
    ],
)
def test_not_locations(text):
    assert found(LOC, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i work at wells fargo", ["wells fargo"]),
        ("i work at harvard university", ["harvard university"]),
        ("i work at university of michigan", ["university of michigan"]),
        ("what time does home depot close", ["home depot"]),
        ("what time does brandt and sons close", ["brandt and sons"]),
        ("I work at Moss, Chevallier and Rocha.", ["Moss, Chevallier and Rocha."]),
        ("What time does Guha-Fraser close?", ["Guha-Fraser"]),
        ("my bank is navy federal credit union", ["navy federal credit union"]),
    ],
)
def test_organisations(text, expected):
    assert found(ORG, text) == expected


@pytest.mark.parametrize(
    "text", ["i work at home", "buy apples at the market", "what time does the shop close"]
)
def test_not_organisations(text):
    assert found(ORG, text) == []
