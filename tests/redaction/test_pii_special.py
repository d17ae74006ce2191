"""Special categories: the recognizer, which categories fired, and the policy."""

from __future__ import annotations

import pytest

from redaction.pii import SpecialPolicy, special_categories
from redaction.pii.doc import Doc
from redaction.pii.special import Action, SpecialCategoryRecognizer

R = SpecialCategoryRecognizer()


@pytest.mark.parametrize(
    ("text", "categories"),
    [
        ("refill my xanax prescription", {"HEALTH"}),
        ("remind me to take my insulin", {"HEALTH"}),
        ("find a therapist near me", {"HEALTH"}),
        ("where is the nearest mosque", {"RELIGION"}),
        ("who did i vote for in the primary", {"POLITICS"}),
        ("find a gay bar downtown", {"SEXUAL_LIFE"}),
        ("what is my immigration status", {"ETHNICITY"}),
        ("set a timer for twenty five minutes", set()),
        ("how many days until christmas", set()),
        ("remind me to take my pills", set()),  # too common to withhold every such request
    ],
)
def test_categories(text, categories):
    assert special_categories(text.split()) == categories


def test_spans_cover_the_terms():
    doc = Doc.of("please refill my xanax prescription")
    assert [(s.label, s.start, s.end) for s in R.analyze(doc)] == [
        ("HEALTH", 1, 3),
        ("HEALTH", 3, 4),
        ("HEALTH", 4, 5),
    ]


def test_policy():
    policy = SpecialPolicy()
    assert policy.decide(["HEALTH", "RELIGION"]).withhold
    d = policy.decide(["RELIGION"])
    assert (d.withhold, d.content_warning, d.reasons) == (False, True, ("RELIGION",))
    assert policy.decide([]) == policy.decide(["PERSON"])
    assert not policy.decide([]).content_warning


@pytest.mark.parametrize(
    "actions",
    [
        {"HEALTH": "withold", "SEXUAL_LIFE": "withhold", "RELIGION": "withhold", "POLITICS": "withhold", "ETHNICITY": "withhold"},
        {"HEALTH": "withhold"},
        {"HEALTHCARE": "withhold", "SEXUAL_LIFE": "withhold", "RELIGION": "withhold", "POLITICS": "withhold", "ETHNICITY": "withhold"},
    ],
)  # fmt: skip
def test_a_policy_typo_fails_at_load(actions):
    with pytest.raises(ValueError):
        SpecialPolicy(actions)


def test_policy_takes_strings():
    p = SpecialPolicy(dict.fromkeys(["HEALTH", "SEXUAL_LIFE", "RELIGION", "POLITICS", "ETHNICITY"], "mask_and_warn"))  # fmt: skip
    assert set(p.actions.values()) == {Action.MASK}
