"""``redaction.evaluate``: the audio coverage measure and its command line's checks."""

from __future__ import annotations

import pytest

from redaction.evaluate import coverage, main

WORDS = [
    {"w": "call", "start": 0.0, "end": 0.4},
    {"w": "anna", "start": 0.5, "end": 1.0},
    {"w": "smith", "start": 1.0, "end": 1.5},
]
SPAN = {"label": "PERSON", "start": 1, "end": 3}


def test_coverage_is_the_least_covered_word_of_the_span():
    assert coverage(WORDS, SPAN, [(0.5, 1.5)]) == pytest.approx(1.0)
    # the last word's first half only: the entity is half covered, whatever the first word
    assert coverage(WORDS, SPAN, [(0.4, 1.25)]) == pytest.approx(0.5)
    # two ranges add up inside one word
    assert coverage(WORDS, SPAN, [(0.5, 1.1), (1.1, 1.5)]) == pytest.approx(1.0)
    assert coverage(WORDS, SPAN, []) == 0.0


def test_a_negative_margin_is_refused_in_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--margin", "-0.1"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].endswith("--margin -0.1: must be >= 0 seconds")
    assert "Traceback" not in "\n".join(err)
