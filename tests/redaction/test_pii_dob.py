"""DateOfBirthRecognizer: a date after a birth cue; dates alone are not PII."""

from __future__ import annotations

import pytest

from redaction.pii.dates import DateOfBirthRecognizer
from redaction.pii.doc import Doc

R = DateOfBirthRecognizer()


def found(text: str) -> list[str]:
    doc = Doc.of(text)
    return [" ".join(doc.words[s.start : s.end]) for s in R.analyze(doc)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i was born on march third nineteen eighty four", "march third nineteen eighty four"),
        ("my date of birth is the fifth of june two thousand and one", "the fifth of june two thousand and one"),
        ("my birthday is june thirteen nineteen forty three", "june thirteen nineteen forty three"),
        ("dob oh three oh four eighty four", "oh three oh four eighty four"),
        ("I was born on March 3rd, 1984.", "March 3rd, 1984."),
        ("Date of birth: 03/04/1984", "03/04/1984"),
        ("born in nineteen eighty four", "nineteen eighty four"),
        ("her birthday is may twenty first", "may twenty first"),
    ],
)  # fmt: skip
def test_dates_of_birth(text, expected):
    assert found(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "remind me on march third",
        "what happened in nineteen sixty nine",
        "play songs from nineteen ninety nine",
        "buy a birthday cake",
    ],
)
def test_not_dates_of_birth(text):
    assert found(text) == []
