"""PhoneRecognizer: spoken and written phone numbers, and numbers that are not phones."""

from __future__ import annotations

import pytest

from redaction.pii.doc import Doc
from redaction.pii.numeric import PhoneRecognizer

R = PhoneRecognizer()


def found(text: str) -> list[tuple[str, str]]:
    doc = Doc.of(text)
    return [
        (s.label, " ".join(doc.words[s.start : s.end])) for s in R.analyze(doc) if s.score >= 0.5
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call five five five one two three four", ["five five five one two three four"]),
        ("dial two oh one five five five double one two three", ["two oh one five five five double one two three"]),
        ("my number is six one seven triple five twelve thirty four", ["six one seven triple five twelve thirty four"]),
        ("call one eight hundred five five five one two one two", ["one eight hundred five five five one two one two"]),
        ("call two two oh oh seven four three one oh oh now", ["two two oh oh seven four three one oh oh"]),
        ("Call me at 555-123-4567.", ["555-123-4567."]),
        ("Her cell is (617) 555-0199", ["(617) 555-0199"]),
        ("Dial 1-800-555-1234", ["1-800-555-1234"]),
        ("Call +1 617 555 0199 please", ["+1 617 555 0199"]),
        ("Text 5551234.", ["5551234."]),
    ],
)  # fmt: skip
def test_phone_numbers(text, expected):
    assert found(text) == [("PHONE_NUMBER", e) for e in expected]


@pytest.mark.parametrize(
    "text",
    [
        "set a timer for twenty five minutes",
        "what's twelve times fourteen",
        "play songs from nineteen ninety nine",
        "two thousand and five",
        "send one million two hundred thousand dollars",  # an amount, not a phone
        "it is 7:30 p.m.",
        "the price is $4,999,999",
        "count to ten",
    ],
)
def test_not_phone_numbers(text):
    assert found(text) == []


def test_a_cue_makes_a_seven_digit_number_surer():
    (cued,) = R.analyze(Doc.of("call five five five one two three four"))
    (bare,) = R.analyze(Doc.of("five five five one two three four"))
    assert cued.score > bare.score >= 0.5
