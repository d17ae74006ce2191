"""`python -m speech.asr transcribe`: JSON lines, empty transcripts for empty audio, clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from speech.asr.__main__ import main
from speech.asr.lm import CharNgram
from speech.asr.model import ConformerCTC
from speech.asr.vocab import CharVocab
from speech.checkpoint import save_checkpoint
from speech.data.features import FeatureConfig

ARGS = {"d_model": 32, "n_layers": 1, "n_heads": 2, "subsample_channels": 8, "n_mels": 40}


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    vocab = CharVocab()
    lm = CharNgram.train(["call mom", "play music"], vocab, order=3)
    return save_checkpoint(
        tmp_path / "asr.pt",
        ConformerCTC(**ARGS),
        task="asr",
        model_args=ARGS,
        features=FeatureConfig(n_mels=40).asdict(),
        vocab=vocab.tokens,
        extra={"lm": lm.as_dict(), "beam_size": 4, "lm_weight": 0.5, "time_offsets": [0.0, 0.0]},
    )


def _run(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return exc.value.code, [json.loads(line) for line in out.out.splitlines()], out.err


def test_transcribe_json_lines_and_bad_audio(ckpt, tmp_path, capsys):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "ok.wav", rng.standard_normal(16000).astype(np.float32) * 0.1, 16000)
    sf.write(
        tmp_path / "stereo44k.wav", rng.standard_normal((44100, 2)).astype(np.float32) * 0.1, 44100
    )
    sf.write(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    (tmp_path / "zero-bytes.wav").write_bytes(b"")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF not really a wav file")
    names = ["ok", "stereo44k", "silent", "empty", "zero-bytes", "corrupt", "missing"]
    code, lines, _ = _run(
        capsys, "transcribe", "--model", str(ckpt), *[str(tmp_path / f"{n}.wav") for n in names]
    )
    assert code == 1  # corrupt and missing failed; the rest were transcribed
    by = {n: line for n, line in zip(names, lines, strict=True)}
    for n in ("ok", "stereo44k"):
        assert set(by[n]) >= {"file", "text", "confidence", "words"}
    assert any("resampled from 44100" in w for w in by["stereo44k"]["warnings"])
    assert any("mixed down" in w for w in by["stereo44k"]["warnings"])
    for n in ("silent", "empty", "zero-bytes"):
        assert (by[n]["text"], by[n]["confidence"], by[n]["words"]) == ("", 0.0, [])
    assert "not a readable audio file" in by["corrupt"]["error"]
    assert "no such audio file" in by["missing"]["error"]


def test_missing_or_wrong_checkpoint(tmp_path, capsys):
    sf.write(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    code, _, err = _run(capsys, "transcribe", "--model", str(tmp_path / "nope.pt"), "a.wav")
    assert code == 2 and "no checkpoint here" in err
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    code, _, err = _run(capsys, "transcribe", "--model", str(tmp_path / "bad.pt"), "a.wav")
    assert code == 2 and "not a readable checkpoint" in err


def test_lm_and_tune_rewrite_the_checkpoint(ckpt, tiny_corpus, capsys):
    from speech.checkpoint import read_checkpoint

    main(["lm", "--model", str(ckpt), "--sentences", "100", "--order", "4", "--prune", "2"])
    extra = read_checkpoint(ckpt)["extra"]
    assert extra["lm_settings"] == {"sentences": 100, "order": 4, "prune": 2}
    assert extra["lm"]["order"] == 4 and extra["beam_size"] == 32
    out, _ = tiny_corpus
    main(["tune", "--model", str(ckpt), "--manifest", str(out / "manifest.jsonl"), "--clips", "2"])
    best = json.loads(capsys.readouterr().out.splitlines()[-1])["best"]
    extra = read_checkpoint(ckpt)["extra"]
    assert (extra["lm_weight"], extra["word_bonus"]) == (best["lm_weight"], best["word_bonus"])
    assert len(extra["tuning"]["grid"]) == 24 and extra["tuning"]["dev_clips"] >= 1
    assert len(extra["time_offsets"]) == 4 and best["time_offsets"] == pytest.approx(
        extra["time_offsets"], abs=1e-4
    )
