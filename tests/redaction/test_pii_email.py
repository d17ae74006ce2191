"""EmailRecognizer: spoken "dot"/"at" addresses and written ones."""

from __future__ import annotations

import pytest

from redaction.pii.doc import Doc
from redaction.pii.emails import EmailRecognizer

R = EmailRecognizer()


def found(text: str) -> list[str]:
    doc = Doc.of(text)
    return [
        " ".join(doc.words[s.start : s.end]) for s in R.analyze(doc) if s.label == "EMAIL_ADDRESS"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my email is john dot smith at example dot com", "john dot smith at example dot com"),
        ("send it to priya patel at gmail dot com", "priya patel at gmail dot com"),
        ("write to j underscore smith eighty four at yahoo dot co dot uk", "j underscore smith eighty four at yahoo dot co dot uk"),
        ("send the photos to a montero at mail dot com", "a montero at mail dot com"),
        ("email pamela nineteen eighty five at outlook dot com", "pamela nineteen eighty five at outlook dot com"),
        ("Send it to john.smith@example.com.", "john.smith@example.com."),
        ("it's john.smith at example.com", "john.smith at example.com"),
    ],
)  # fmt: skip
def test_emails(text, expected):
    assert found(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "meet me at the park",
        "call john at five five five one two three four",
        "look at example dot",
        "i'm at home dot",
    ],
)
def test_not_emails(text):
    assert found(text) == []
