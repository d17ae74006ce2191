"""Randomized response: the Python helper's statistics, and the browser's twin (rr.js) gives
the same answers for the same random draws."""

from __future__ import annotations

import math
import random

import pytest

from redaction.review.privacy import estimate_count, keep_probability, perturb

VOCAB = ("en", "es", "fr", "de")


def test_keep_probability():
    assert keep_probability(math.log(3)) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        keep_probability(0)


def test_each_answer_is_epsilon_ldp():
    """P(report | truth) / P(report | other truth) is at most e^eps for every answer."""
    eps = 1.0
    p = keep_probability(eps)
    assert p / (1 - p) == pytest.approx(math.exp(eps))


def test_flip_rates_and_unbiased_estimate():
    rng = random.Random(1)
    eps, n = 1.0, 20_000
    truth = [["en", "es"] if k % 4 == 0 else ["en"] for k in range(n)]
    reports = [perturb(t, VOCAB, eps, rng.random) for t in truth]
    p = keep_probability(eps)
    kept_en = sum("en" in r for r in reports) / n
    assert kept_en == pytest.approx(p, abs=0.01)
    est_es = estimate_count(sum("es" in r for r in reports), n, eps)
    assert est_es == pytest.approx(n / 4, rel=0.05)
    est_fr = estimate_count(sum("fr" in r for r in reports), n, eps)
    assert abs(est_fr) < 0.03 * n


def test_draws_are_taken_in_vocab_order():
    draws = iter([0.0, 0.99, 0.0, 0.99])  # keep, flip, keep, flip
    assert perturb(["en", "es"], VOCAB, 1.0, lambda: next(draws)) == ["en", "de"]
