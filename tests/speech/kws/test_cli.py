"""`python -m speech.kws detect`: JSON lines, and clear answers for bad audio and bad checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from speech.checkpoint import load_model, save_checkpoint
from speech.data.features import FeatureConfig
from speech.kws.__main__ import main
from speech.kws.model import KWSModel


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    model = KWSModel(channels=16, dilations=[1, 2])
    return save_checkpoint(
        tmp_path / "kws.pt",
        model,
        task="kws",
        model_args={"channels": 16, "dilations": [1, 2]},
        features=FeatureConfig().asdict(),
        extra={"wake_phrase": "hey nova", "threshold": 0.0, "smoothing": 3, "refractory": 1.0},
    )


def _run(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return exc.value.code, [json.loads(line) for line in out.out.splitlines()], out.err


def test_detect_prints_json_lines_and_handles_bad_audio(ckpt, tmp_path, capsys):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "ok.wav", rng.standard_normal(16000).astype(np.float32) * 0.1, 16000)
    sf.write(
        tmp_path / "stereo44k.wav", rng.standard_normal((44100, 2)).astype(np.float32) * 0.1, 44100
    )
    sf.write(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    sf.write(
        tmp_path / "clipped.wav", np.sign(rng.standard_normal(16000)).astype(np.float32), 16000
    )
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)  # RIFF header, 0 frames
    (tmp_path / "zero-bytes.wav").write_bytes(b"")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF not really a wav file")
    files = [
        "ok.wav",
        "stereo44k.wav",
        "silent.wav",
        "clipped.wav",
        "empty.wav",
        "zero-bytes.wav",
        "corrupt.wav",
        "missing.wav",
    ]
    code, lines, err = _run(
        capsys, "detect", "--model", str(ckpt), *[str(tmp_path / f) for f in files]
    )
    by = {line["file"].rsplit("/", 1)[-1]: line for line in lines}
    assert code == 1 and "Traceback" not in err  # some files failed, the rest were processed
    assert len(lines) == len(files)
    assert (
        isinstance(by["ok.wav"]["detections"], list) and by["ok.wav"]["detections"]
    )  # threshold 0
    assert all(set(d) == {"time", "score"} for d in by["ok.wav"]["detections"])
    assert any("mixed down" in w for w in by["stereo44k.wav"]["warnings"])
    assert any("resampled from 44100" in w for w in by["stereo44k.wav"]["warnings"])
    assert any("silent" in w for w in by["silent.wav"]["warnings"])
    assert any("clipped" in w for w in by["clipped.wav"]["warnings"])
    assert "no samples" in by["empty.wav"]["error"]
    assert "0 bytes" in by["zero-bytes.wav"]["error"]
    for f in ("empty.wav", "zero-bytes.wav"):
        assert set(by[f]) == {"file", "error"}
    assert "not a readable audio file" in by["corrupt.wav"]["error"]
    assert "no such audio file" in by["missing.wav"]["error"]


def test_detect_expands_directories_and_reports_empty_ones(ckpt, tmp_path, capsys):
    rng = np.random.default_rng(0)
    wavs = tmp_path / "wavs"
    wavs.mkdir()
    for name in ("b.wav", "a.wav"):
        sf.write(wavs / name, rng.standard_normal(8000).astype(np.float32) * 0.1, 16000)
    (wavs / "notes.txt").write_text("not audio")
    (tmp_path / "empty").mkdir()
    sf.write(tmp_path / "lone.wav", rng.standard_normal(8000).astype(np.float32) * 0.1, 16000)
    args = [str(tmp_path / "empty"), str(wavs), str(tmp_path / "lone.wav")]
    code, lines, err = _run(capsys, "detect", "--model", str(ckpt), *args)
    assert code == 1 and "Traceback" not in err  # the empty directory failed, nothing else
    assert [line["file"] for line in lines] == [
        str(tmp_path / "empty"),
        str(wavs / "a.wav"),
        str(wavs / "b.wav"),
        str(tmp_path / "lone.wav"),
    ]
    assert set(lines[0]) == {"file", "error"} and "no .wav files" in lines[0]["error"]
    assert all("detections" in line and "error" not in line for line in lines[1:])
    code, lines, _ = _run(capsys, "detect", "--model", str(ckpt), str(wavs))
    assert code == 0 and len(lines) == 2


def test_detect_help_documents_directories(capsys):
    with pytest.raises(SystemExit):
        main(["detect", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "a directory stands for the .wav files in it" in help_text


def test_missing_or_corrupt_checkpoint(tmp_path, capsys):
    sf.write(tmp_path / "a.wav", np.zeros(1600, np.float32), 16000)
    code, _, err = _run(
        capsys, "detect", "--model", str(tmp_path / "nope.pt"), str(tmp_path / "a.wav")
    )
    assert code == 2 and "no checkpoint here" in err
    (tmp_path / "bad.pt").write_bytes(b"\x00garbage")
    code, _, err = _run(
        capsys, "detect", "--model", str(tmp_path / "bad.pt"), str(tmp_path / "a.wav")
    )
    assert code == 2 and "not a readable checkpoint" in err and "Traceback" not in err


def test_shipped_default_model_loads_and_detects(tmp_path, capsys):
    from speech.kws.__main__ import DEFAULT_MODEL

    assert DEFAULT_MODEL.exists(), "models/kws-hey-nova/model.pt should ship with the repository"
    sf.write(
        tmp_path / "noise.wav",
        np.random.default_rng(1).standard_normal(32000).astype(np.float32) * 0.01,
        16000,
    )
    code, lines, _ = _run(capsys, "detect", str(tmp_path / "noise.wav"))
    assert code == 0 and lines[0]["detections"] == []  # quiet noise must not wake it


def test_calibrate_writes_the_operating_point_of_the_negatives(ckpt, tiny_corpus, tmp_path, capsys):
    from speech.kws.evaluate import evaluate_kws

    corpus, _ = tiny_corpus
    out = tmp_path / "calibrated.pt"
    code, lines, _ = _run(capsys, "calibrate", str(corpus), "--model", str(ckpt), "--out", str(out))
    assert code == 0
    model, meta = load_model(out, task="kws")
    report = evaluate_kws(model, meta, corpus, tmp_path / "eval", snrs=(), progress=False)
    # The same streams give the same threshold as the evaluation's operating point.
    assert meta["extra"]["threshold"] == lines[0]["threshold"]
    assert lines[0]["threshold"] == report["operating_point"]["threshold"]
    assert meta["extra"]["threshold_from"]["audio"] == f"{corpus.name} test streams"
    assert "warning" in lines[0]  # 36 s of stream cannot show 0.5 false accepts per hour
    assert load_model(ckpt, task="kws")[1]["extra"]["threshold"] == 0.0  # --out: source kept

    rng = np.random.default_rng(0)
    wavs = []
    for i in range(2):
        wavs.append(tmp_path / f"neg{i}.wav")
        sf.write(wavs[-1], 0.05 * rng.standard_normal(16000 * 30).astype(np.float32), 16000)
    code, lines, _ = _run(capsys, "calibrate", *map(str, wavs), "--model", str(ckpt))
    assert code == 0 and lines[0]["recordings"] == 2 and lines[0]["hours"] == round(60 / 3600, 3)
    assert load_model(ckpt, task="kws")[1]["extra"]["threshold"] == lines[0]["threshold"]


def test_calibrate_refuses_bad_negatives(ckpt, tmp_path, capsys):
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), 16000)
    for args in ([str(tmp_path)], [str(empty)], [str(tmp_path / "missing.wav")]):
        code, _, err = _run(capsys, "calibrate", *args, "--model", str(ckpt))
        assert code == 2 and err.strip().splitlines()[-1].startswith("error: ")
    code, _, err = _run(capsys, "calibrate", str(empty), "--model", str(tmp_path / "no.pt"))
    assert code == 2 and "no checkpoint" in err


def _small_ckpt(path, wake_phrase="hey nova"):
    return save_checkpoint(
        path,
        KWSModel(channels=8, dilations=[1]),
        task="kws",
        model_args={"channels": 8, "dilations": [1]},
        features=FeatureConfig().asdict(),
        extra={"wake_phrase": wake_phrase, "threshold": 0.5, "smoothing": 3, "refractory": 1.0},
    )


def test_calibration_reports_the_false_accept_rate_at_a_given_threshold(ckpt, tmp_path):
    from speech.kws.evaluate import THRESHOLDS, calibrate_threshold

    model, meta = load_model(ckpt, task="kws")
    rng = np.random.default_rng(1)
    wav = tmp_path / "neg.wav"
    sf.write(wav, 0.05 * rng.standard_normal(16000 * 60).astype(np.float32), 16000)
    rates = []
    for at in (0.0, 0.3, 0.97, 1.0):
        cal = calibrate_threshold(
            model, meta, [wav], target_fa_per_hour=60, progress=False, fa_at=at
        )
        assert cal["fa_at"] in THRESHOLDS and cal["fa_at"] <= max(at, THRESHOLDS[0])
        rates.append(cal["fa_per_hour_at"])
    assert rates == sorted(rates, reverse=True)  # a higher threshold never lets more through
    hours = 60 / 3600  # whole false accepts over the recording
    assert all(r >= 0 and r * hours == pytest.approx(round(r * hours)) for r in rates)
