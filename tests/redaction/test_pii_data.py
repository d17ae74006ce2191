"""The held-out PII evaluation set: disjoint splits, valid gold spans, both styles."""

from __future__ import annotations

import pytest

from redaction.data import pii_pools, pii_templates
from redaction.data.pii_templates import TEMPLATES, load
from redaction.data.pii_values import HELD_OUT_LOCALES, NAME_LOCALES
from redaction.pii.data.build_gazetteers import LOCALES


def test_template_sets_are_disjoint():
    dev = set(TEMPLATES["dev"][0]) | set(TEMPLATES["dev"][1])
    test = set(TEMPLATES["test"][0]) | set(TEMPLATES["test"][1])
    assert not dev & test


@pytest.mark.parametrize(
    "pool",
    [
        lambda s: pii_pools.name_pool(s, False)[0],
        lambda s: pii_pools.name_pool(s, True)[1],
        pii_pools.place_pool,
    ],
)
def test_value_pools_are_disjoint(pool):
    dev, test = set(pool("dev")), set(pool("test"))
    assert dev and test and not dev & test


def test_held_out_names_are_not_in_the_gazetteer():
    assert not set(HELD_OUT_LOCALES) & set(LOCALES)
    assert set(NAME_LOCALES) <= set(LOCALES)


@pytest.mark.parametrize("split", ["dev", "test"])
def test_records(split):
    spoken = load(split, 200, seed=3, style="spoken")
    written = load(split, 200, seed=3, style="written")
    assert len(spoken) == len(written) == 200
    for s, w in zip(spoken, written, strict=True):
        assert s["template"] == w["template"] and s["pii_free"] == w["pii_free"]
        assert [g["label"] for g in s["spans"]] == [g["label"] for g in w["spans"]]
        for rec in (s, w):
            assert all(isinstance(x, str) and x for x in rec["words"])
            for g in rec["spans"]:
                assert 0 <= g["start"] < g["end"] <= len(rec["words"])
        assert s["words"] == [x.lower() for x in s["words"]]
    assert 0.2 < sum(r["pii_free"] for r in spoken) / 200 < 0.5
    assert any(any(c.isdigit() for x in r["words"] for c in x) for r in written)


def test_deterministic():
    assert load("dev", 50, seed=1) == load("dev", 50, seed=1)
    assert load("dev", 50, seed=1) != load("dev", 50, seed=2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        load("train", 5)
    with pytest.raises(ValueError, match="style"):
        load("dev", 5, style="shouted")


def test_render_possessive_and_pause():
    import random

    ex = pii_templates.render("what's {FIRST's} number , please", random.Random(0), "dev")
    assert ex.spoken[1].endswith("'s") and ex.spoken_spans == [("PERSON", 1, 2)]
    assert ex.written[-2].endswith(",") and "," not in ex.spoken
