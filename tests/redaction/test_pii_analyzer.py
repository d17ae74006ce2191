"""The analyzer end to end: conflicts, masking, config, over-masking, robustness."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hypothesis import given, settings
from hypothesis import strategies as st

from redaction.pii import (
    Analyzer,
    default_analyzer,
    default_recognizers,
    detect,
    from_config,
    mask,
    policy_from_config,
)
from redaction.pii.analyzer import resolve
from redaction.spans import Span

CONF = Path(__file__).resolve().parents[2] / "conf"


def w(text: str) -> list[str]:
    return text.split()


def masked(text: str) -> str:
    words = text.split()
    return mask(words, detect(words))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call john smith at five five five one two three four", "call [PERSON] at [PHONE_NUMBER]"),
        ("Call John Smith at 555-123-4567.", "Call [PERSON] at [PHONE_NUMBER]."),
        ("email priya at priya dot patel at gmail dot com", "email [PERSON] at [EMAIL_ADDRESS]"),
        ("send twenty dollars to mark", "send [AMOUNT] to [PERSON]"),
        ("what's the weather in jackson", "what's the weather in [LOCATION]"),
        ("text jackson that i'm late", "text [PERSON] that i'm late"),
        ("navigate to one twenty three lincoln avenue", "navigate to [STREET_ADDRESS]"),
        ("i was born on march third nineteen eighty four in boston", "i was born on [DATE_OF_BIRTH] in [LOCATION]"),
        ("my social is one two three four five six seven eight nine", "my social is [US_SSN]"),
        ("refill my xanax prescription", "[HEALTH]"),
    ],
)  # fmt: skip
def test_detect_and_mask(text, expected):
    assert masked(text) == expected


# Requests full of numbers that are not PII (and no names): nothing may be masked.
HARD_NEGATIVES = [
    "set a timer for twenty five minutes",
    "what's twelve times fourteen",
    "play songs from nineteen ninety nine",
    "set the thermostat to seventy two degrees",
    "wake me up at six thirty a m",
    "turn the volume up to eleven",
    "add a dozen eggs and two pounds of flour to my shopping list",
    "how many ounces are in three cups",
    "remind me in forty five minutes to check the oven",
    "play the top ten songs of two thousand and five",
    "what's the score of the game",
    "preheat the oven to three hundred fifty degrees",
    "how many days until christmas",
    "read me chapter twelve",
    "skip forward thirty seconds",
    "what's fifteen percent of eighty",
    "convert five miles to kilometers",
    "what is the square root of one hundred forty four",
    "turn on channel two oh four",
    "call mom",
    "will it rain tomorrow",
    "Set a timer for 25 minutes.",
    "What's 12 times 14?",
    "Play songs from 1999.",
    "Wake me up at 6:30 a.m.",
    "Set the thermostat to 72 degrees.",
    "What's 15% of 80?",
    "Turn on the lights in the living room.",
    "How long do I boil an egg?",
    "Play episode 4 of season 2.",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_no_over_masking(text):
    assert detect(text.split()) == []


def test_over_masking_rate_is_low():
    flagged = sum(bool(detect(t.split())) for t in HARD_NEGATIVES)
    assert flagged / len(HARD_NEGATIVES) <= 0.05


def test_resolve_gives_each_word_one_label():
    spans = [
        Span("PERSON", 3, 4, 0.7, "p"),
        Span("LOCATION", 3, 4, 0.9, "l"),
        Span("ORGANIZATION", 0, 5, 0.6, "o"),
    ]
    out = resolve(spans)
    assert [(s.label, s.start, s.end) for s in out] == [
        ("ORGANIZATION", 0, 3),
        ("LOCATION", 3, 4),
        ("ORGANIZATION", 4, 5),
    ]


def test_min_score_drops_weak_spans():
    words = w("five five five one two three four")  # a bare 7-digit number scores 0.6
    assert Analyzer(default_recognizers(), min_score=0.7).analyze(words) == []
    assert [s.label for s in Analyzer(default_recognizers(), min_score=0.5).analyze(words)] == [
        "PHONE_NUMBER"
    ]


def test_mask_one_placeholder_per_span_and_overlaps_joined():
    words = w("a b c d e")
    assert mask(words, [Span("X", 1, 3), Span("Y", 2, 4)]) == "a [X] e"
    assert mask(words, [Span("X", 0, 1), Span("Y", 1, 2)]) == "[X] [Y] c d e"
    assert mask(words, []) == "a b c d e"
    with pytest.raises(ValueError, match="past"):
        mask(words, [Span("X", 4, 6)])


def test_empty_transcript():
    assert detect([]) == []
    assert mask([], []) == ""


def compose_pii():
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="redaction/pii")


def test_config_builds_the_default_analyzer():
    cfg = compose_pii()
    analyzer = from_config(cfg)
    assert [r.name for r in analyzer.recognizers] == [r.name for r in default_recognizers()]
    for text in ["call john at five five five one two three four", "refill my xanax"]:
        assert analyzer.analyze(text.split()) == default_analyzer().analyze(text.split())
    policy = policy_from_config(cfg)
    assert policy.decide(["HEALTH"]).withhold


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                w(
                    "call john at five oh double triple hundred thousand and a dot com $20 "
                    "555-1234 street 3rd march born my social is card ending in gmail 4111 , . @"
                )
            ),
            st.text(max_size=6),
        ),
        max_size=25,
    )
)
def test_never_raises_and_spans_stay_inside(words):
    spans = detect(words)
    for s in spans:
        assert 0 <= s.start < s.end <= len(words)
    mask(words, spans)
