"""The held-out special-category set: disjoint splits, valid labels and spans, hard negatives."""

from __future__ import annotations

import pytest

from redaction.data import special_templates as st
from redaction.data.special_templates import LABELS, SLOTS, SPLIT_SLOTS, TEMPLATES, load
from redaction.pii.recognizer import SPECIAL_LABELS


def test_labels_are_the_detectors():
    assert LABELS == SPECIAL_LABELS
    assert {label for label, _ in SLOTS.values()} - {None} <= set(LABELS)


def test_template_sets_are_disjoint():
    dev, test = (set(TEMPLATES[s][0]) | set(TEMPLATES[s][1]) for s in ("dev", "test"))
    assert not dev & test


@pytest.mark.parametrize("slot", sorted(SPLIT_SLOTS))
def test_value_pools_are_disjoint(slot):
    dev, test = set(st.values(slot, "dev")), set(st.values(slot, "test"))
    assert dev and test and not dev & test


@pytest.mark.parametrize("split", ["dev", "test"])
def test_every_category_has_positives_and_negatives_are_as_many(split):
    positives, negatives = TEMPLATES[split]
    for label in LABELS:
        slots = {s for s, (lab, _) in SLOTS.items() if lab == label}
        assert any(f"[{label} " in t or any(f"{{{s}}}" in t for s in slots) for t in positives)
    assert len(negatives) >= len(positives)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_records(split):
    records = load(split, 300, seed=2)
    assert len(records) == 300
    positives, negatives = TEMPLATES[split]
    for rec in records:
        words = rec["words"]
        assert words and all(w == w.lower() and w.strip() for w in words)
        assert not any(c in w for w in words for c in "[]{}")
        for g in rec["spans"]:
            assert g["label"] in LABELS and 0 <= g["start"] < g["end"] <= len(words)
        assert rec["categories"] == sorted({g["label"] for g in rec["spans"]}, key=LABELS.index)
        assert (rec["template"] in negatives) == (not rec["categories"])
        assert rec["template"] in positives or rec["template"] in negatives
    assert 0.35 < sum(not r["categories"] for r in records) / 300 < 0.65
    assert {c for r in records for c in r["categories"]} == set(LABELS)


def test_leading_articles_stay_outside_the_span():
    rec = st.render("i'm {FAITH}", _Fixed("an atheist"), "test")
    assert rec["words"] == ["i'm", "an", "atheist"]
    assert rec["spans"] == [{"label": "RELIGION", "start": 2, "end": 3}]


def test_deterministic():
    assert load("dev", 50, seed=1) == load("dev", 50, seed=1)
    assert load("dev", 50, seed=1) != load("dev", 50, seed=2)


def test_bad_split():
    with pytest.raises(ValueError, match="split"):
        load("train", 5)


class _Fixed:
    """A stand-in random generator that always picks ``value``."""

    def __init__(self, value: str):
        self.value = value

    def choice(self, _options):
        return self.value
