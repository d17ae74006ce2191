"""AmountRecognizer: money counts as AMOUNT; timers, counts, years, temperatures do not."""

from __future__ import annotations

import pytest

from redaction.pii.doc import Doc
from redaction.pii.money import AmountRecognizer

R = AmountRecognizer()


def found(text: str) -> list[str]:
    doc = Doc.of(text)
    return [" ".join(doc.words[s.start : s.end]) for s in R.analyze(doc) if s.score >= 0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("send twenty dollars to john", "twenty dollars"),
        ("transfer forty two dollars and fifty cents", "forty two dollars and fifty cents"),
        ("a hundred and fifty bucks", "a hundred and fifty bucks"),
        ("the price is four ninety nine", "four ninety nine"),  # a bare price after a price cue
        ("it costs nineteen ninety nine", "nineteen ninety nine"),
        ("Send $20 to John.", "$20"),
        ("Pay €291 now", "€291"),
        ("I owe him $1,250.50.", "$1,250.50."),
        ("pay back fifty pounds", "fifty pounds"),
        ("that was 20 dollars", "20 dollars"),
    ],
)
def test_amounts(text, expected):
    assert found(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "set a timer for twenty five minutes",
        "what's twelve times fourteen",
        "play songs from nineteen ninety nine",
        "set the thermostat to seventy two degrees",
        "wake me up at six thirty",
        "add five pounds of flour to the list",
        "it is 10% off",
        "Wake me up at 7:30.",
        "preheat the oven to three fifty",
    ],
)
def test_not_amounts(text):
    assert found(text) == []
