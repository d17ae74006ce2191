"""From spans to audio: time ranges, bleeping without clicks or leaks, masking, reading clips."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from redaction.audio import (
    SAMPLE_RATE,
    ClipError,
    MissingWordTimes,
    RedactionError,
    SpanOutOfRange,
    mask_transcript,
    read_clip,
    redact_audio,
    time_ranges,
)
from redaction.spans import Span

SR = SAMPLE_RATE
# "call bob smith at five five five": 0.3 s a word, 0.1 s gaps, from 0.2 s
TEXT = ["call", "bob", "smith", "at", "five", "five", "five"]
WORDS = [{"w": w, "start": 0.2 + 0.4 * i, "end": 0.5 + 0.4 * i} for i, w in enumerate(TEXT)]
PERSON = Span("PERSON", 1, 3)
PHONE = Span("PHONE_NUMBER", 4, 7)


def tone(seconds: float = 3.0, hz: float = 220.0, level: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


# --- time ranges ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spans", "margin", "duration", "expected"),
    [
        ([PERSON], 0.0, None, [(0.6, 1.3)]),
        ([PERSON], 0.05, None, [(0.55, 1.35)]),
        ([Span("X", 0, 1)], 0.5, None, [(0.0, 1.0)]),  # clamped at 0
        ([Span("X", 6, 7)], 0.5, 2.8, [(2.1, 2.8)]),  # clamped at the clip's end
        ([PHONE, PERSON], 0.0, None, [(0.6, 1.3), (1.8, 2.9)]),  # sorted
        ([Span("A", 1, 2), Span("B", 2, 3)], 0.06, None, [(0.54, 1.36)]),  # margins overlap
        ([Span("A", 1, 3), Span("B", 2, 4)], 0.0, None, [(0.6, 1.7)]),  # spans overlap
        ([Span("A", 1, 2, t_start=0.55, t_end=0.8)], 0.0, None, [(0.55, 0.9)]),  # union
        ([], 0.1, 3.0, []),
    ],
)
def test_time_ranges(spans, margin, duration, expected):
    got = time_ranges(spans, WORDS, margin_s=margin, duration=duration)
    assert len(got) == len(expected)
    for (a, b), (x, y) in zip(got, expected, strict=True):
        assert a == pytest.approx(x) and b == pytest.approx(y)


def test_time_ranges_take_word_objects():
    objs = [SimpleNamespace(**w) for w in WORDS]
    assert time_ranges([PERSON], objs, margin_s=0.0) == time_ranges([PERSON], WORDS, margin_s=0.0)


@pytest.mark.parametrize(
    ("spans", "words", "error", "message"),
    [
        ([Span("X", 5, 8)], WORDS, SpanOutOfRange, r"\[5, 8\) points past the transcript's 7"),
        ([Span("X", 0, 1)], [], SpanOutOfRange, "points past"),
        ([PERSON], [{"w": w} for w in TEXT], MissingWordTimes, r"word 1 \('bob'\) has no time"),
        ([PERSON], TEXT, MissingWordTimes, "has no time"),  # plain strings: no times at all
        ([PERSON], [*WORDS[:2], {**WORDS[2], "end": None}, *WORDS[3:]], MissingWordTimes, "word 2"),
        (
            [PERSON],
            [*WORDS[:1], {"w": "bob", "start": 1.0, "end": 0.5}, *WORDS[2:]],
            MissingWordTimes,
            "impossible",
        ),
        (
            [PERSON],
            [*WORDS[:1], {"w": "bob", "start": float("nan"), "end": 0.5}, *WORDS[2:]],
            MissingWordTimes,
            "impossible",
        ),
    ],
)
def test_time_ranges_fail_closed(spans, words, error, message):
    with pytest.raises(error, match=message):
        time_ranges(spans, words)


def test_words_past_the_clip_are_refused():
    with pytest.raises(SpanOutOfRange, match="after the clip's end"):
        time_ranges([PHONE], WORDS, duration=1.5)


def test_words_without_times_outside_spans_are_fine():
    words = [*WORDS[:4], *({"w": w} for w in TEXT[4:])]
    [(a, b)] = time_ranges([PERSON], words, margin_s=0.0)
    assert (a, b) == pytest.approx((0.6, 1.3))


# --- redacting audio --------------------------------------------------------------------------


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def band_share(x: np.ndarray, hz: float, width: float = 50.0) -> float:
    """Share of ``x``'s energy within ``width`` Hz of ``hz``."""
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return float(spec[np.abs(f - hz) < width].sum() / spec.sum())


@pytest.mark.parametrize("mode", ["bleep", "silence", "noise"])
def test_redact_replaces_ranges_and_leaves_the_rest(mode):
    wave = tone()
    ranges = [(0.5, 1.0), (2.0, 2.4)]
    fade = 5.0
    out = redact_audio(wave, ranges, mode=mode, fade_ms=fade)
    assert out.shape == wave.shape and out.dtype == np.float32
    assert np.all(np.abs(out) <= 1.0)
    f = round(fade * SR / 1000)
    outside = np.ones(len(wave), dtype=bool)
    for a, b in ranges:
        i, j = round(a * SR), round(b * SR)
        outside[i - f : j + f] = False
        inside = out[i + f : j - f]
        # not one sample of the original survives inside the range
        assert np.max(np.abs(out[i:j] - wave[i:j])) > 0.1
        if mode == "bleep":
            assert rms(inside) == pytest.approx(0.25 / np.sqrt(2), rel=0.02)
            assert band_share(inside, 1000.0) > 0.99
            assert band_share(inside, 220.0) < 1e-4
        elif mode == "silence":
            assert np.all(out[i:j] == 0.0)
        else:
            assert 0.05 < rms(inside) < 0.15
            assert band_share(inside, 220.0) < 0.05  # white: no trace of the tone
    np.testing.assert_array_equal(out[outside], wave[outside])


@pytest.mark.parametrize("mode", ["bleep", "silence", "noise"])
def test_fades_leave_no_clicks(mode):
    # A loud 200 Hz tone cut at its peaks (0.50125 s, 1.00125 s): its own largest step
    # between samples is about 0.07; a hard cut there jumps by 0.9.
    wave = tone(level=0.9, hz=200.0)
    own = float(np.max(np.abs(np.diff(wave))))
    bleep = 0.25 * 2 * np.pi * 1000 / SR  # the bleep's own largest step, about 0.1
    ranges = [(0.50125, 1.00125), (1.20125, 1.2035)]  # the second shorter than two fades
    out = redact_audio(wave, ranges, mode=mode, fade_ms=5.0)
    for a, b in ranges:
        for edge in (round(a * SR), round(b * SR)):
            # across the edge the original has faded out (in) and the filler not yet in
            assert np.abs(np.diff(out[edge - 3 : edge + 3])).max() < 0.02, (mode, edge)
    if mode != "noise":  # white noise steps by nature; elsewhere no step beyond the tones'
        assert np.abs(np.diff(out)).max() < max(own, bleep) + 0.02
    hard = redact_audio(wave, ranges[:1], mode="silence", fade_ms=0.0)
    assert np.abs(np.diff(hard)).max() > 0.8  # without fades there is a click to find


def test_redact_clamps_the_end_and_merges_overlaps():
    wave = tone(1.0)
    out = redact_audio(wave, [(0.8, 1.5), (0.5, 0.85)], mode="silence")
    assert np.all(out[round(0.5 * SR) :] == 0.0)
    assert np.array_equal(out[: round(0.5 * SR) - 80], wave[: round(0.5 * SR) - 80])


def test_no_ranges_is_a_copy_not_the_input():
    wave = tone(0.5)
    out = redact_audio(wave, [])
    assert out is not wave and np.array_equal(out, wave)


@pytest.mark.parametrize(
    ("wave", "ranges", "kw", "message"),
    [
        (tone(1.0).astype(np.float64), [], {}, "float32"),
        (np.stack([tone(1.0), tone(1.0)]), [], {}, r"shape \(2, 16000\)"),
        ([0.0] * 100, [], {}, "got list"),
        (tone(1.0), [], {"sample_rate": 44100}, "44100 Hz"),
        (tone(1.0), [], {"mode": "beep"}, "mode='beep'"),
        (tone(1.0), [(0.5, 0.5)], {}, "empty or negative"),
        (tone(1.0), [(-0.1, 0.5)], {}, "empty or negative"),
        (tone(1.0), [(1.2, 1.5)], {}, "starts after the clip's end"),
        (np.full(100, np.nan, dtype=np.float32), [], {}, "NaN"),
    ],
)
def test_redact_refuses_bad_input(wave, ranges, kw, message):
    with pytest.raises(RedactionError, match=message):
        redact_audio(wave, ranges, **kw)


def test_spans_to_bleeped_audio_end_to_end():
    wave = tone()
    # the words here are 0.1 s apart: a margin inside that gap leaves "call" whole (the
    # default, 0.2 s, would take its end too, as it does with close words in speech)
    ranges = time_ranges([PERSON, PHONE], WORDS, margin_s=0.08, duration=len(wave) / SR)
    out = redact_audio(wave, ranges)
    for w in WORDS[1:3] + WORDS[4:]:
        i, j = round(w["start"] * SR), round(w["end"] * SR)
        assert band_share(out[i:j], 220.0) < 1e-4  # the spoken words are gone
    i, j = round(WORDS[0]["start"] * SR), round(WORDS[0]["end"] * SR)
    assert np.array_equal(out[i:j], wave[i:j])  # "call" is untouched


# --- masking the transcript --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([PERSON, PHONE], "call [PERSON] at [PHONE_NUMBER]"),
        ([], "call bob smith at five five five"),
        ([Span("PERSON", 1, 2), Span("PERSON", 2, 3)], "call [PERSON] [PERSON] at five five five"),
        ([Span("A", 1, 4), Span("B", 2, 6)], "call [A] [B] five"),  # overlap: each word once
        ([Span("X", 0, 7)], "[X]"),
    ],
)
def test_mask_transcript(spans, expected):
    assert mask_transcript(WORDS, spans) == expected
    assert mask_transcript(TEXT, spans) == expected  # plain strings too


def test_mask_refuses_spans_past_the_transcript():
    with pytest.raises(SpanOutOfRange):
        mask_transcript(TEXT, [Span("PERSON", 6, 9)])
    with pytest.raises(SpanOutOfRange):
        mask_transcript([], [Span("PERSON", 0, 1)])  # an empty transcript is not "clean"


# --- reading clips -------------------------------------------------------------------------


@pytest.fixture
def good_wav(tmp_path):
    path = tmp_path / "ok.wav"
    sf.write(path, tone(0.5), SR, subtype="PCM_16")
    return path


def test_read_clip(good_wav):
    wave = read_clip(good_wav)
    assert wave.dtype == np.float32 and wave.shape == (SR // 2,)
    assert np.max(np.abs(wave - tone(0.5))) < 1e-3


def _corrupt(data: bytes, how: str) -> bytes:
    if how == "fmt zeroed":
        return data[:20] + bytes(16) + data[36:]
    if how == "truncated header":
        return data[:30]
    if how == "data past the end":
        return data[:40] + struct.pack("<I", 10**6) + data[44:]
    if how == "second data chunk":  # audio a first-chunk reader would never see
        extra = b"data" + struct.pack("<I", 100) + b"\x01" * 100
        return b"RIFF" + struct.pack("<I", len(data) - 8 + len(extra)) + data[8:] + extra
    if how == "not RIFF":
        return b"JUNK" + data[4:]
    raise AssertionError(how)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("fmt zeroed", "corrupt WAV"),
        ("truncated header", "corrupt WAV header"),
        ("data past the end", "past the file's end"),
        ("second data chunk", "2 data chunks"),
        ("not RIFF", "not a WAV file"),
    ],
)
def test_read_clip_refuses_corrupt_headers(good_wav, how, message):
    good_wav.write_bytes(_corrupt(good_wav.read_bytes(), how))
    with pytest.raises(ClipError, match=message) as e:
        read_clip(good_wav)
    assert "\n" not in str(e.value) and str(good_wav) in str(e.value)


def test_read_clip_refusals(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([tone(0.2), tone(0.2)], axis=1), SR)
    cd = tmp_path / "cd.wav"
    sf.write(cd, tone(0.2), 44100)
    flac = tmp_path / "clip.flac"
    sf.write(flac, tone(0.2), SR)
    header_only = tmp_path / "header.wav"
    sf.write(header_only, np.zeros(0, dtype=np.float32), SR)
    text = tmp_path / "notes.wav"
    text.write_text("call bob at five five five\n")
    cases = [
        (empty, "empty file"),
        (stereo, "2 channels; redaction takes mono only"),
        (cd, "sample rate 44100 Hz, expected 16000 Hz"),
        (flac, "not a WAV file"),
        (header_only, "no samples"),
        (text, "not a WAV file"),
        (tmp_path / "missing.wav", "no such file"),
        (tmp_path, "no such file"),
    ]
    for path, message in cases:
        with pytest.raises(ClipError, match=message) as e:
            read_clip(path)
        assert "\n" not in str(e.value)


def test_the_redact_path_bleeps_with_the_measured_margin():
    from redaction.audio import MARGIN_S
    from redaction.redact import RedactConfig

    assert RedactConfig().margin_s == MARGIN_S == 0.2
