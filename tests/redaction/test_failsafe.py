"""Fail-closed widening: what a misheard transcript still gets redacted, and what it leaves."""

from __future__ import annotations

import pytest

from redaction.failsafe import widen
from redaction.pii import detect, mask


@pytest.mark.parametrize(
    "heard, masked",
    [
        # a name the recognizer misheard is still a contact slot
        ("Text set apart in that dinner is ready.", "Text [PERSON] in that dinner is ready."),
        ("text joe i am late", "text [PERSON] i am late"),
        ("pay they'll hurry four hundred dollars", "pay [PERSON] [AMOUNT]"),
        ("send a message to the group", "send a message to the group"),
        # a misheard house number joins its address
        (
            "Deliver it to 80 to 77 Davis Parkway's please.",
            "Deliver it to [STREET_ADDRESS] please.",
        ),
        ("my number is 5551234", "my number is [PHONE_NUMBER]"),
        (
            "last for digits of my social security number nine nine eight six",
            "last for digits of my social security number [NUMBER]",
        ),
        ("directions to 70 to Willow Court.", "directions to [STREET_ADDRESS]."),
        ("directions to six to do evergreen street", "directions to [STREET_ADDRESS]"),
        ("My account email is co -opin66 at Ma .org", "My account email is [EMAIL_ADDRESS]"),
        ("My mother's maiden name is all -sho -dee.", "My mother's maiden name is [PERSON]."),
        ("meet me at the park at noon", "meet me at the park at noon"),
        ("Give scene our ring.", "Give [PERSON] our ring."),
        (
            "Leave the voicemail for Michelangelo at home",
            "Leave the voicemail for [PERSON] at home",
        ),
        ("give me a call later", "give me a call later"),
        ("send it to karola that msn .com please", "send it to [EMAIL_ADDRESS] please"),
        ("The car that ends with 5 -4 -8 -3.", "The car that ends with [NUMBER]."),
        ("it was four eight two nine one three again", "it was [NUMBER] again"),
        # what a contact verb names without naming anyone stays
        ("call mom at home", "call mom at home"),
        ("remind me to call the bank on monday", "remind me to call the bank on monday"),
        # short numbers that are not PII stay
        ("set a timer for 25 minutes", "set a timer for 25 minutes"),
        ("play songs from 1999", "play songs from 1999"),
        ("what's twelve times fourteen", "what's twelve times fourteen"),
    ],
)
def test_widen(heard, masked):
    words = heard.split()
    assert mask(words, widen(words, detect(words))) == masked


def test_widen_keeps_every_detection():
    words = ["call", "john", "smith", "at", "five", "five", "five", "one", "two", "three", "four"]
    found = detect(words)
    wider = widen(words, found)
    covered = {i for s in wider for i in range(s.start, s.end)}
    assert all(i in covered for s in found for i in range(s.start, s.end))
