"""`python -m experiments.asr_designs`: the comparison of recognizer designs, end to end on the
tiny corpus (a robotic and a Kokoro test voice) with the shipped recognizer, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments.asr_designs import main, real_recordings

ROOT = Path(__file__).resolve().parents[1]


def test_bad_arguments_are_one_line_errors(tiny_corpus, tmp_path):
    corpus, _ = tiny_corpus
    with pytest.raises(SystemExit, match="expected NAME=CHECKPOINT"):
        main(["--corpus", str(corpus), "--model", "nothing.pt", "--out", str(tmp_path / "a.json")])
    with pytest.raises(SystemExit, match=r"no manifest\.jsonl"):
        main(["--corpus", str(tmp_path), "--out", str(tmp_path / "a.json")])


@pytest.mark.slow
def test_scores_voice_kinds_real_speech_and_cost(tiny_corpus, tmp_path, capsys):
    pytest.importorskip("faster_whisper")
    corpus, _ = tiny_corpus
    out = tmp_path / "designs.json"
    main(
        [
            "--corpus",
            str(corpus),
            "--model",
            f"conformer={ROOT / 'models/asr-tiny/model.pt'}",
            "--robotic-clips",
            "10",
            "--out",
            str(out),
        ]
    )
    report = json.loads(out.read_text())
    ours = report["systems"]["conformer"]
    assert {"robotic", "natural"} <= set(ours["groups"])
    assert ours["groups"]["robotic"]["clips"] == 10
    assert 0 < ours["rtf_one_thread"] < 1 and ours["parameters_trained"] > 1e6
    assert {"pocketsphinx", "whisper-tiny.en"} <= set(report["systems"])
    if real_recordings():  # moonshine-voice installed: silver references were written beside
        assert "real_silver" in ours["groups"]
        assert (tmp_path / "asr_silver_references.json").is_file()
    assert out.with_suffix(".png").is_file()
    assert "| conformer |" in capsys.readouterr().out
