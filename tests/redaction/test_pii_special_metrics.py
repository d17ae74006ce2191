"""Special-category metrics: clip- and word-level counts, the table, the command line."""

from __future__ import annotations

import json

import pytest

from redaction.pii.metrics import evaluate_special, format_special, main
from redaction.spans import Span

RECORDS = [
    {"words": ["refill", "my", "xanax"], "categories": ["HEALTH"], "spans": [{"label": "HEALTH", "start": 2, "end": 3}]},
    {"words": ["find", "a", "mosque"], "categories": ["RELIGION"], "spans": [{"label": "RELIGION", "start": 2, "end": 3}]},
    {"words": ["play", "church", "bells"], "categories": [], "spans": []},
    {"words": ["set", "a", "timer"], "categories": [], "spans": []},
]  # fmt: skip
PRED = {
    "refill my xanax": [Span("HEALTH", 1, 3), Span("PERSON", 2, 3)],  # PII spans are ignored
    "find a mosque": [],  # missed
    "play church bells": [Span("RELIGION", 1, 2)],  # false alarm
    "set a timer": [],
}


def predict(words):
    return PRED[" ".join(words)]


def test_counts():
    rep = evaluate_special(RECORDS, predict, keep_errors=5)
    assert (rep.precision("HEALTH"), rep.recall("HEALTH")) == (1.0, 1.0)
    assert rep.words.precision("HEALTH") == 0.5 and rep.words.recall("HEALTH") == 1.0
    assert (rep.precision("RELIGION"), rep.recall("RELIGION")) == (0.0, 0.0)
    assert (rep.precision("ANY"), rep.recall("ANY")) == (0.5, 0.5)
    assert (rep.negatives, rep.negatives_flagged) == (2, 1)
    assert "PERSON" not in rep.words.pred
    assert [e["words"] for e in rep.errors] == ["find a mosque", "play church bells"]
    text = format_special(rep, "toy")
    assert "HEALTH" in text and "hard negatives flagged: 1/2" in text


def test_cli_prints_the_table(tmp_path, capsys):
    out = tmp_path / "special.json"
    assert main(["--special", "--split", "dev", "--n", "40", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for label in ("HEALTH", "SEXUAL_LIFE", "RELIGION", "POLITICS", "ETHNICITY", "ANY"):
        assert label in text
    figures = json.loads(out.read_text())
    assert figures["split"] == "dev" and figures["clips"] == 40


@pytest.mark.parametrize(
    "argv",
    [["--special", "--split", "test", "--errors", "3"], ["--special", "--peer", "presidio"]],
)
def test_cli_refuses(argv):
    with pytest.raises(SystemExit):
        main(argv)
