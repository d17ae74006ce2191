"""The leak check: what identifies an entity, and when a listener has recovered it."""

from __future__ import annotations

import pytest

from redaction.leak import recovered, secret

CALL = ["call", "john", "smith", "at", "five", "five", "five", "one", "two", "three", "four"]
ADDRESS = ["navigate", "to", "nine", "oh", "four", "meadow", "court"]
CARD = ["use", "the", "card", "ending", "in", "four", "two", "four", "two"]


def test_what_identifies_an_entity():
    assert secret(CALL, 1, 3, "PERSON").words == ("john", "smith")
    phone = secret(CALL, 4, 11, "PHONE_NUMBER")
    assert phone.digit_runs == ("5551234",) and phone.words == ()
    address = secret(ADDRESS, 2, 7, "STREET_ADDRESS")
    assert address.digit_runs == ("904",) and address.words == ("meadow",)  # "court" is generic


@pytest.mark.parametrize(
    "words, start, end, label, heard, leaked",
    [
        (CALL, 1, 3, "PERSON", "call john at", True),
        (CALL, 1, 3, "PERSON", "call at", False),
        (CALL, 4, 11, "PHONE_NUMBER", "call at 555-1234", True),
        (CALL, 4, 11, "PHONE_NUMBER", "call at five five five", False),  # 3 digits, not 4
        (CALL, 4, 11, "PHONE_NUMBER", "call at five five five one", True),  # 4 in a row
        (CALL, 4, 11, "PHONE_NUMBER", "at five five five, one two", True),  # split over runs
        (CALL, 4, 11, "PHONE_NUMBER", "call john smith at 5", False),
        (ADDRESS, 2, 7, "STREET_ADDRESS", "navigate to 904", True),
        (ADDRESS, 2, 7, "STREET_ADDRESS", "navigate to the court", False),
        (CARD, 5, 9, "CREDIT_CARD", "use the card ending in 4242.", True),
        (CARD, 5, 9, "CREDIT_CARD", "use the card ending in", False),
    ],
)
def test_recovered(words, start, end, label, heard, leaked):
    assert recovered(secret(words, start, end, label), heard.split()) is leaked
