"""`python -m speech.asr transcribe`: JSON lines, directories expanded, clear errors for files
without samples (zero bytes or a header only), and the other files still transcribed."""

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
    sf.write(tmp_path / "header-only.wav", np.zeros(0, np.float32), 16000)  # RIFF, 0 frames
    (tmp_path / "zero-bytes.wav").write_bytes(b"")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF not really a wav file")
    names = ["ok", "stereo44k", "silent", "header-only", "zero-bytes", "corrupt", "missing"]
    code, lines, err = _run(
        capsys, "transcribe", "--model", str(ckpt), *[str(tmp_path / f"{n}.wav") for n in names]
    )
    assert code == 1 and err == ""  # four files failed; the rest were transcribed
    by = {n: line for n, line in zip(names, lines, strict=True)}
    for n in ("ok", "stereo44k", "silent"):
        assert set(by[n]) >= {"file", "text", "confidence", "words"} and "error" not in by[n]
    assert any("resampled from 44100" in w for w in by["stereo44k"]["warnings"])
    assert any("mixed down" in w for w in by["stereo44k"]["warnings"])
    silent = by["silent"]
    assert (silent["text"], silent["confidence"], silent["words"]) == ("", 0.0, [])
    # A file without samples is a failed recording, not a silent one: an error, no transcript.
    for n, why in (("header-only", "no samples"), ("zero-bytes", "0 bytes")):
        assert set(by[n]) == {"file", "error"} and why in by[n]["error"]
    assert "not a readable audio file" in by["corrupt"]["error"]
    assert "no such audio file" in by["missing"]["error"]


def test_transcribe_expands_directories_and_reports_empty_ones(ckpt, tmp_path, capsys):
    rng = np.random.default_rng(0)
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    for name in ("b.wav", "a.WAV"):
        sf.write(wavs / name, rng.standard_normal(8000).astype(np.float32) * 0.1, 16000)
    (wavs / "notes.txt").write_text("not audio")
    (wavs / "nested").mkdir()
    sf.write(wavs / "nested" / "c.wav", np.zeros(1600, np.float32), 16000)  # not searched
    (tmp_path / "empty").mkdir()
    (tmp_path / "no-wavs").mkdir()
    (tmp_path / "no-wavs" / "readme.txt").write_text("nothing here")
    sf.write(tmp_path / "lone.wav", rng.standard_normal(8000).astype(np.float32) * 0.1, 16000)
    args = [str(tmp_path / d) for d in ("empty", "wavs", "no-wavs", "lone.wav")]
    code, lines, err = _run(capsys, "transcribe", "--model", str(ckpt), *args)
    assert code == 1 and err == ""  # the two directories without WAVs failed, nothing else
    assert [line["file"] for line in lines] == [
        str(tmp_path / "empty"),
        str(wavs / "a.WAV"),
        str(wavs / "b.wav"),
        str(tmp_path / "no-wavs"),
        str(tmp_path / "lone.wav"),
    ]
    for line in (lines[0], lines[3]):
        assert set(line) == {"file", "error"} and "no .wav files" in line["error"]
        assert "\n" not in line["error"]
    for line in (lines[1], lines[2], lines[4]):
        assert "error" not in line and set(line) >= {"text", "confidence", "words"}
    code, lines, err = _run(capsys, "transcribe", "--model", str(ckpt), str(wavs))
    assert code == 0 and len(lines) == 2


def test_transcribe_help_documents_directories(capsys):
    with pytest.raises(SystemExit):
        main(["transcribe", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "a directory stands for the .wav files in it" in help_text
    assert "--max-segment-seconds" in help_text


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
