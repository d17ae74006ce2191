"""CreditCardRecognizer: Luhn-valid numbers, card cues, "ending in"."""

from __future__ import annotations

import pytest

from redaction.pii.doc import Doc
from redaction.pii.numeric import CreditCardRecognizer, luhn_ok

R = CreditCardRecognizer()


def found(text: str) -> list[tuple[str, str, float]]:
    doc = Doc.of(text)
    return [(s.label, " ".join(doc.words[s.start : s.end]), s.score) for s in R.analyze(doc)]


VISA = "four one one one one one one one one one one one one one one one"


@pytest.mark.parametrize(
    ("text", "words", "min_score"),
    [
        (f"my card number is {VISA}", VISA, 0.9),
        ("My card is 4111 1111 1111 1111.", "4111 1111 1111 1111.", 0.9),
        ("charge 4111-1111-1111-1111 please", "4111-1111-1111-1111", 0.9),
        ("amex three seven eight two eight two two four six three one double oh oh five", "three seven eight two eight two two four six three one double oh oh five", 0.9),
        ("use the card ending in four two four two", "four two four two", 0.8),
        ("the card that ends with oh double nine six", "oh double nine six", 0.8),
        ("last four digits of my card are 4242", "4242", 0.8),
        # one digit misheard: the checksum fails, the card cue still finds it
        ("my credit card is four one one one one one one one one one one one one one one two", "four one one one one one one one one one one one one one one two", 0.7),
    ],
)  # fmt: skip
def test_cards(text, words, min_score):
    ((label, got, score),) = found(text)
    assert (label, got) == ("CREDIT_CARD", words)
    assert score >= min_score


@pytest.mark.parametrize(
    "text",
    [
        "set a timer for twenty five minutes",
        "the last four of my social are one two three four",  # an SSN's digits, not a card's
        "call five five five one two three four",
    ],
)
def test_not_cards(text):
    assert found(text) == []


def test_luhn():
    assert luhn_ok("4111111111111111") and luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")
