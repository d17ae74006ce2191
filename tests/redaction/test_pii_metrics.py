"""Metrics: word-level precision/recall, coverage by any label, over-masking."""

from __future__ import annotations

import pytest

from redaction.pii.metrics import evaluate, format_report, main
from redaction.spans import Span

RECORDS = [
    {"words": ["call", "john", "smith", "now"], "spans": [{"label": "PERSON", "start": 1, "end": 3}]},
    {"words": ["send", "it", "to", "a", "b"], "spans": [{"label": "EMAIL_ADDRESS", "start": 3, "end": 5}]},
    {"words": ["set", "a", "timer"], "spans": []},
    {"words": ["play", "jazz"], "spans": []},
]  # fmt: skip
PRED = {
    "call john smith now": [Span("PERSON", 1, 2)],  # half the name
    "send it to a b": [Span("PERSON", 3, 5)],  # wrong label, but masked
    "set a timer": [Span("AMOUNT", 2, 3)],  # over-masking
    "play jazz": [],
}


def predict(words):
    return PRED[" ".join(words)]


def test_counts():
    rep = evaluate(RECORDS, predict)
    assert rep.precision("PERSON") == pytest.approx(1 / 3)  # john; a, b are not PERSON
    assert rep.recall("PERSON") == pytest.approx(1 / 2)
    assert rep.coverage("PERSON") == 0.0  # smith is not masked
    assert rep.recall("EMAIL_ADDRESS") == 0.0 and rep.coverage("EMAIL_ADDRESS") == 1.0
    assert rep.over_masking == 0.5
    assert rep.masked_word_precision == pytest.approx(3 / 4)
    text = format_report(rep, "toy")
    assert "PERSON" in text and "over-masking: 1/2" in text


def test_errors_only_on_dev():
    with pytest.raises(SystemExit):
        main(["--split", "test", "--errors", "3"])


@pytest.mark.slow
def test_targets_on_dev(capsys):
    """The issue's targets on a dev sample (the test split is measured, never asserted on)."""
    from redaction.data.pii_templates import load
    from redaction.pii import Analyzer, default_recognizers
    from redaction.pii.metrics import PRECISION_TARGET, RECALL_TARGETS

    analyzer = Analyzer(default_recognizers(), special=False)
    for style in ("spoken", "written"):
        rep = evaluate(load("dev", 800, seed=11, style=style), analyzer)
        for label, target in RECALL_TARGETS.items():
            assert rep.recall(label) >= target, (style, label)
        for label in RECALL_TARGETS:
            assert rep.precision(label) >= PRECISION_TARGET, (style, label)
        assert rep.over_masking <= 0.02
