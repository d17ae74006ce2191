"""Real-corpus importers, on tiny Speech Commands and LibriSpeech trees built in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from speech.audio import AudioError, load_wav
from speech.data.manifest import audio_path, read_manifest
from speech.data.real import ImportStats, import_librispeech, import_speech_commands, main

REPO = Path(__file__).resolve().parents[3]


def _tone(path: Path, seconds: float, sr: int = 16000, fmt: str = "WAV") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(round(seconds * sr)) / sr
    sf.write(path, 0.3 * np.sin(2 * np.pi * 440 * t), sr, format=fmt, subtype="PCM_16")


@pytest.fixture
def sc_root(tmp_path: Path) -> Path:
    """Speech Commands tree: 3 words, 3 speakers, one corrupt and one empty clip."""
    root = tmp_path / "sc"
    _tone(root / "right" / "aaaa1111_nohash_0.wav", 0.25)
    _tone(root / "right" / "bbbb2222_nohash_0.wav", 0.5)
    _tone(root / "left" / "aaaa1111_nohash_1.wav", 0.1)
    _tone(root / "left" / "cccc3333_nohash_0.wav", 0.2)
    _tone(root / "marvin" / "cccc3333_nohash_2.wav", 0.3)
    _tone(root / "_background_noise_" / "white_noise.wav", 0.5)
    _tone(root / "_background_noise_" / "pink_noise.wav", 0.5)
    (root / "left" / "dddd4444_nohash_0.wav").write_bytes(
        np.random.default_rng(0).bytes(300)  # not audio at all
    )
    sf.write(root / "right" / "eeee5555_nohash_0.wav", np.zeros(0, np.float32), 16000)
    (root / "validation_list.txt").write_text("right/bbbb2222_nohash_0.wav\n")
    (root / "testing_list.txt").write_text(
        "left/cccc3333_nohash_0.wav\nmarvin/cccc3333_nohash_2.wav\nleft/ffff6666_nohash_0.wav\n"
    )
    (root / "README.md").write_text("not a word folder")
    return root


@pytest.fixture
def ls_root(tmp_path: Path) -> Path:
    """LibriSpeech tree under LibriSpeech/: dev-clean and train-clean-5, one missing clip."""
    root = tmp_path / "downloads"
    base = root / "LibriSpeech"
    chapters = {
        ("dev-clean", "84", "121123"): {"0000": "GO DO YOU HEAR", "0001": "BUT IN LESS THAN"},
        ("train-clean-5", "19", "198"): {"0000": "NORTHANGER  ABBEY", "0002": "NOT ON DISK"},
    }
    for (subset, spk, chap), lines in chapters.items():
        folder = base / subset / spk / chap
        for utt in lines:
            if "DISK" not in lines[utt]:
                _tone(folder / f"{spk}-{chap}-{utt}.flac", 0.2, fmt="FLAC")
        trans = "".join(f"{spk}-{chap}-{u} {t}\n" for u, t in lines.items())
        (folder / f"{spk}-{chap}.trans.txt").write_text(trans)
    (base / "SPEAKERS.TXT").write_text("; not a subset")
    return root


def test_speech_commands_manifest_fields_and_splits(sc_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    manifest, stats = import_speech_commands(sc_root, out, wake_words=["Marvin"])

    utts = {u.id: u for u in read_manifest(manifest)}
    assert manifest == out / "manifest.jsonl"
    assert set(utts) == {
        "sc-right-aaaa1111-0",
        "sc-right-bbbb2222-0",
        "sc-left-aaaa1111-1",
        "sc-left-cccc3333-0",
        "sc-marvin-cccc3333-2",
    }
    u = utts["sc-right-bbbb2222-0"]
    assert (u.text, u.speaker, u.device, u.split, u.kind) == (
        "right",
        "sc-bbbb2222",
        "sc-bbbb2222",
        "dev",
        "command",
    )
    assert u.duration == pytest.approx(0.5)
    assert u.words == [] and u.sample_rate == 16000
    assert utts["sc-left-cccc3333-0"].split == "test"
    assert utts["sc-right-aaaa1111-0"].split == "train"
    assert utts["sc-marvin-cccc3333-2"].kind == "wake"
    assert utts["sc-marvin-cccc3333-2"].split == "test"
    for utt in utts.values():
        assert not Path(utt.audio).is_absolute()
        assert len(load_wav(audio_path(manifest, utt))) == round(utt.duration * 16000)

    assert stats == ImportStats(
        utterances=5,
        hours=pytest.approx(1.35 / 3600),
        skipped_corrupt=1,
        skipped_empty=1,
        skipped_background=2,
        resampled=0,
        missing_audio=1,  # left/ffff6666 is listed for test but absent
        by_split={"train": 2, "dev": 1, "test": 2},
    )


def test_speech_commands_manifest_survives_moving_the_pair(sc_root: Path, tmp_path: Path) -> None:
    # Relative paths: moving corpus and manifest together must keep every clip reachable.
    out = tmp_path / "out"
    import_speech_commands(sc_root, out)
    moved = tmp_path / "moved"
    moved.mkdir()
    sc_root.rename(moved / "sc")
    out.rename(moved / "out")
    manifest = moved / "out" / "manifest.jsonl"
    assert all(audio_path(manifest, u).is_file() for u in read_manifest(manifest))


def test_speech_commands_keywords_underscores_and_wake_words(tmp_path: Path) -> None:
    root = tmp_path / "sc"
    _tone(root / "yes" / "aaaa1111_nohash_0.wav", 0.1)
    _tone(root / "no" / "aaaa1111_nohash_0.wav", 0.1)
    _tone(root / "hey_nova" / "bbbb2222_nohash_0.wav", 0.1)

    manifest, stats = import_speech_commands(
        root, tmp_path / "out", keywords=["yes"], wake_words=["hey nova"]
    )

    got = sorted((u.text, u.kind) for u in read_manifest(manifest))
    assert got == [("hey nova", "wake"), ("yes", "command")]
    assert stats.by_split == {"train": 2}
    with pytest.raises(FileNotFoundError, match=r"\['maybe'\].*words present: hey_nova, no, yes"):
        import_speech_commands(root, tmp_path / "out2", keywords=["maybe"])


@pytest.mark.parametrize("rate", [8000, 44100])
def test_wrong_rate_is_resampled_to_a_16k_copy(tmp_path: Path, rate: int) -> None:
    root = tmp_path / "sc"
    src = root / "up" / "aaaa1111_nohash_0.wav"
    _tone(src, 0.25, sr=rate)
    out = tmp_path / "out"

    manifest, stats = import_speech_commands(root, out)

    (utt,) = read_manifest(manifest)
    assert utt.audio == "resampled/up/aaaa1111_nohash_0.wav"
    copy = audio_path(manifest, utt)
    assert sf.info(str(copy)).samplerate == 16000
    assert sf.info(str(copy)).frames == 4000
    assert utt.duration == pytest.approx(0.25)
    assert stats.resampled == 1
    assert sf.info(str(src)).samplerate == rate  # the corpus itself is left untouched


def test_wrong_rate_refused_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "sc"
    _tone(root / "up" / "aaaa1111_nohash_0.wav", 0.1, sr=8000)

    with pytest.raises(AudioError, match=r"aaaa1111_nohash_0\.wav: sample rate is 8000 Hz"):
        import_speech_commands(root, tmp_path / "out", on_wrong_rate="error")
    assert not (tmp_path / "out" / "manifest.jsonl").exists()
    with pytest.raises(ValueError, match="on_wrong_rate"):
        import_speech_commands(root, tmp_path / "out", on_wrong_rate="ignore")


def test_speech_commands_without_layout_is_refused(tmp_path: Path) -> None:
    _tone(tmp_path / "notsc" / "word" / "clip.wav", 0.1)
    with pytest.raises(FileNotFoundError, match="no Speech Commands folders"):
        import_speech_commands(tmp_path / "notsc", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        import_speech_commands(tmp_path / "absent", tmp_path / "out")


def test_librispeech_manifest_fields_splits_and_missing(ls_root: Path, tmp_path: Path) -> None:
    manifest, stats = import_librispeech(ls_root, tmp_path / "out")

    utts = {u.id: u for u in read_manifest(manifest)}
    assert set(utts) == {"ls-84-121123-0000", "ls-84-121123-0001", "ls-19-198-0000"}
    u = utts["ls-84-121123-0000"]
    assert (u.text, u.speaker, u.device, u.split, u.kind) == (
        "go do you hear",
        "ls-84",
        "ls-84",
        "dev",
        "request",
    )
    assert u.duration == pytest.approx(0.2)
    assert u.audio.endswith("LibriSpeech/dev-clean/84/121123/84-121123-0000.flac")
    assert audio_path(manifest, u).is_file()
    assert utts["ls-19-198-0000"].text == "northanger abbey"  # runs of spaces collapsed
    assert utts["ls-19-198-0000"].split == "train"
    assert stats.missing_audio == 1
    assert stats.by_split == {"dev": 2, "train": 1}


def test_librispeech_root_forms_and_subset_filter(ls_root: Path, tmp_path: Path) -> None:
    base = ls_root / "LibriSpeech"
    for i, root in enumerate([base, base / "dev-clean"]):
        _, stats = import_librispeech(root, tmp_path / f"out{i}", subsets=["dev-clean"])
        assert stats.by_split == {"dev": 2}
    with pytest.raises(FileNotFoundError, match=r"\['test-other'\].*found: dev-clean"):
        import_librispeech(ls_root, tmp_path / "o", subsets=["test-other"])
    with pytest.raises(FileNotFoundError, match="no LibriSpeech subsets"):
        import_librispeech(base / "dev-clean" / "84", tmp_path / "o")
    # A folder of subsets whose own name starts with "train" is not mistaken for a subset.
    renamed = base.rename(tmp_path / "train_data")
    _, stats = import_librispeech(renamed, tmp_path / "out_renamed")
    assert stats.by_split == {"dev": 2, "train": 1}


def test_librispeech_corrupt_empty_and_wrong_rate(ls_root: Path, tmp_path: Path) -> None:
    folder = ls_root / "LibriSpeech" / "dev-clean" / "84" / "121123"
    (folder / "84-121123-0000.flac").write_bytes(b"fLaC" + bytes(64))  # header, no stream
    (folder / "84-121123-0001.flac").write_bytes(b"")
    _tone(folder / "84-121123-0002.flac", 0.3, sr=44100, fmt="FLAC")
    with (folder / "84-121123.trans.txt").open("a") as f:
        f.write("84-121123-0002 A LOUDER CLIP\n")

    manifest, stats = import_librispeech(ls_root, tmp_path / "out", subsets=["dev-clean"])

    (utt,) = read_manifest(manifest)
    assert utt.audio == "resampled/dev-clean/84/121123/84-121123-0002.wav"
    assert sf.info(str(audio_path(manifest, utt))).samplerate == 16000
    assert utt.duration == pytest.approx(0.3)
    assert (stats.skipped_corrupt, stats.skipped_empty, stats.resampled) == (1, 1, 1)


def test_cli_prints_stats_json(sc_root: Path, tmp_path: Path, capsys) -> None:
    main(["speech-commands", str(sc_root), str(tmp_path / "out"), "--wake-word", "marvin"])
    report = json.loads(capsys.readouterr().out)
    assert report["utterances"] == 5
    assert report["by_split"] == {"train": 2, "dev": 1, "test": 2}
    assert Path(report["manifest"]).is_file()


def test_cli_exits_2_with_one_line_on_refused_rate(tmp_path: Path, capsys) -> None:
    _tone(tmp_path / "sc" / "up" / "aaaa1111_nohash_0.wav", 0.1, sr=8000)
    argv = [
        "speech-commands",
        str(tmp_path / "sc"),
        str(tmp_path / "o"),
        "--on-wrong-rate",
        "error",
    ]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "8000 Hz" in err and "\n" not in err


def test_cli_module_exits_2_on_missing_root(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "speech.data.real", "librispeech", str(tmp_path / "nope"), "out"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"error: {tmp_path / 'nope'}: no such folder; pass the extracted LibriSpeech root"
    )
    assert "Traceback" not in proc.stderr
