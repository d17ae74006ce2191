"""SsnRecognizer: nine digits, surer with a cue or the written 123-45-6789 shape."""

from __future__ import annotations

import pytest

from redaction.pii.doc import Doc
from redaction.pii.numeric import SsnRecognizer, ssn_valid

R = SsnRecognizer()


def found(text: str) -> list[tuple[str, str, float]]:
    doc = Doc.of(text)
    return [(s.label, " ".join(doc.words[s.start : s.end]), s.score) for s in R.analyze(doc)]


@pytest.mark.parametrize(
    ("text", "words", "min_score"),
    [
        ("my social security number is one two three four five six seven eight nine", "one two three four five six seven eight nine", 0.9),
        ("my ssn is two one two double four five six seven eight", "two one two double four five six seven eight", 0.9),
        ("My SSN is 123-45-6789.", "123-45-6789.", 0.9),
        ("it's 123-45-6789", "123-45-6789", 0.85),
        ("the last four of my social are eight nine eight oh", "eight nine eight oh", 0.8),
        ("s s n one two three four five six seven eight nine", "one two three four five six seven eight nine", 0.9),
    ],
)  # fmt: skip
def test_ssn(text, words, min_score):
    ((label, got, score),) = found(text)
    assert (label, got) == ("US_SSN", words)
    assert score >= min_score


def test_without_cue_an_invalid_number_scores_low():
    ((_, _, score),) = found("nine nine nine one two three four five six")
    assert score < 0.5


@pytest.mark.parametrize("text", ["call five five five one two three four", "use the card ending in four two four two"])  # fmt: skip
def test_not_ssn(text):
    assert found(text) == []


def test_ssn_rules():
    assert ssn_valid("123456789")
    assert not ssn_valid("666123456") and not ssn_valid("912345678") and not ssn_valid("123000000")
