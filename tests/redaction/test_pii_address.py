"""StreetAddressRecognizer: house number + street name + street type (+ unit)."""

from __future__ import annotations

import pytest

from redaction.pii.address import StreetAddressRecognizer
from redaction.pii.doc import Doc

R = StreetAddressRecognizer()


def found(text: str) -> list[str]:
    doc = Doc.of(text)
    return [" ".join(doc.words[s.start : s.end]) for s in R.analyze(doc) if s.score >= 0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("navigate to one twenty three maple street", "one twenty three maple street"),
        ("my address is four five six oak avenue apartment four b", "four five six oak avenue apartment four b"),
        ("go to twenty two west forty second street", "twenty two west forty second street"),
        ("order a taxi from three oh seven nine thirty eighth drive to boston", "three oh seven nine thirty eighth drive"),
        ("deliver to forty five twenty one harrison circle unit twelve please", "forty five twenty one harrison circle unit twelve"),
        ("My address is 123 Maple St., Apt 4B", "123 Maple St., Apt 4B"),
        ("Ship it to 9901 N Harrison Circle #12", "9901 N Harrison Circle #12"),
        ("Directions to 3079 38th Drive.", "3079 38th Drive."),
        ("i live on elm street", "elm street"),
    ],
)  # fmt: skip
def test_addresses(text, expected):
    assert found(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "it is a twenty minute drive",
        "the shop on main street is closed",
        "set a timer for five minutes",
        "play track two on the way home",
        "take the first road on the left",
    ],
)
def test_not_addresses(text):
    assert found(text) == []
