"""`python -m experiments.natural_voices` end to end on the tiny corpus (its test split holds a
robotic and a Kokoro voice), with the shipped checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.natural_voices import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_scores_both_voice_kinds_with_the_shipped_models(tiny_corpus, tmp_path, capsys):
    corpus, _ = tiny_corpus
    out = tmp_path / "natural.json"
    main(
        [
            "--corpus",
            str(corpus),
            "--kws",
            f"shipped={ROOT / 'models/kws-hey-nova/model.pt'}",
            "--asr",
            f"shipped={ROOT / 'models/asr-tiny/model.pt'}",
            "--asr-clips",
            "20",
            "--out",
            str(out),
        ]
    )
    report = json.loads(out.read_text())
    assert set(report["test_speakers"].values()) == {"robotic", "natural"}
    for task in ("kws", "asr"):
        assert set(report[task]["shipped"]["groups"]) == {"robotic", "natural"}
    wer = report["asr"]["shipped"]["groups"]["natural"]["wer"]
    assert 0.0 <= wer <= 1.5
    assert "natural" in capsys.readouterr().out


def test_refuses_a_folder_that_is_not_a_corpus(tmp_path):
    with pytest.raises(SystemExit, match="not a built corpus"):
        main(["--corpus", str(tmp_path)])
