"""Long recordings: the pause segmenter on synthetic signals, and the shipped recognizer on
held-out requests joined into one file (as accurate, and as well timed, as clip by clip)."""

from __future__ import annotations

import difflib
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from speech import SAMPLE_RATE
from speech.asr.decode import align_words
from speech.asr.recognizer import Recognizer
from speech.asr.segment import Segment, frame_energy_db, speech_regions, split_at_pauses
from speech.audio import load_wav
from speech.data.align import word_errors
from speech.data.manifest import audio_path, read_manifest

SR = SAMPLE_RATE


def _tone(seconds: float, amplitude: float = 0.3, hz: float = 220.0) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SR), np.float32)


def test_tones_between_pauses_become_one_padded_segment_each():
    # 0.5 s silence, then 1 s tone / 0.6 s silence three times, then 0.5 s silence.
    parts, tones, at = [_silence(0.5)], [], 0.5
    for _ in range(3):
        parts += [_tone(1.0), _silence(0.6)]
        tones.append((at, at + 1.0))
        at += 1.6
    wave = np.concatenate([*parts[:-1], _silence(0.5)])
    segs = split_at_pauses(wave, max_seconds=12.0, pad_seconds=0.2)
    assert len(segs) == 3
    for seg, (a, b) in zip(segs, tones, strict=True):
        # 0.2 s of silence each side (the pauses are long enough), to within two frames
        assert seg.start / SR == pytest.approx(a - 0.2, abs=0.02)
        assert seg.end / SR == pytest.approx(b + 0.2, abs=0.02)


def test_short_pauses_are_not_cuts_and_cuts_fall_in_the_middle_of_short_pauses():
    # Two "words" 0.1 s apart (inside a phrase), then a 0.3 s pause, then another word.
    wave = np.concatenate(
        [_silence(0.3), _tone(0.5), _silence(0.1), _tone(0.5), _silence(0.3), _tone(0.5)]
    )
    segs = split_at_pauses(wave, pad_seconds=0.2, min_pause_seconds=0.25)
    assert len(segs) == 2
    assert segs[0].start == pytest.approx(0.1 * SR, abs=0.02 * SR)
    # the 0.3 s pause (1.4 .. 1.7 s) is shared at its centre: 0.15 s each side < pad
    assert segs[0].end == segs[1].start
    assert segs[0].end / SR == pytest.approx(1.55, abs=0.02)
    assert segs[1].end == wave.size


def test_a_long_tone_is_split_at_its_quietest_frames_within_the_maximum():
    envelope = np.ones(round(30 * SR), np.float32)
    for dip in (9.0, 20.0):  # quieter moments, no pause
        envelope[round(dip * SR) : round((dip + 0.03) * SR)] = 0.2
    wave = _tone(30.0) * envelope
    segs = split_at_pauses(wave, max_seconds=12.0)
    assert segs[0].start == 0 and segs[-1].end == wave.size
    assert all(a.end == b.start for a, b in pairwise(segs))  # no gap, no overlap
    assert all(s.seconds <= 12.0 for s in segs)
    cuts = [s.start / SR for s in segs[1:]]
    assert cuts == pytest.approx([9.0, 20.0], abs=0.05)
    # Without dips, the same tone is still cut to fit.
    assert all(s.seconds <= 12.0 for s in split_at_pauses(_tone(30.0), max_seconds=12.0))


def test_silence_gives_no_segments_and_steady_noise_one_stretch():
    assert split_at_pauses(np.zeros(0, np.float32)) == []
    assert split_at_pauses(_silence(20.0)) == []
    noise = np.random.default_rng(0).standard_normal(20 * SR).astype(np.float32) * 0.05
    segs = split_at_pauses(noise, max_seconds=12.0)
    assert segs[0].start == 0 and segs[-1].end == noise.size and len(segs) == 2


def test_noisy_pauses_still_separate_the_speech():
    rng = np.random.default_rng(0)
    wave = np.concatenate([_silence(1.0), _tone(1.5), _silence(1.0), _tone(1.5), _silence(1.0)])
    wave = wave + rng.standard_normal(wave.size).astype(np.float32) * 0.01  # about 17 dB SNR
    segs = split_at_pauses(wave)
    assert len(segs) == 2
    assert segs[0].start / SR == pytest.approx(0.8, abs=0.03)
    assert segs[1].end / SR == pytest.approx(5.2, abs=0.03)


def test_frame_energy_and_regions():
    e = frame_energy_db(np.concatenate([_silence(0.1), _tone(0.1, amplitude=1.0)]))
    assert e.shape == (20,) and e[0] == -100.0 and e[-1] == pytest.approx(-3.0, abs=0.1)
    mask = np.array([0, 1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1], dtype=bool)
    assert speech_regions(mask, min_pause_frames=2, min_speech_frames=2) == [(1, 6), (13, 15)]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.05, 4.0), st.floats(0.3, 2.0), st.floats(0.05, 0.5)),
        min_size=1,
        max_size=8,
    ),
    st.floats(2.0, 8.0),
)
def test_segments_are_ordered_bounded_and_never_cut_a_burst(bursts, max_seconds):
    """Whatever the bursts (``(tone s, pause s, amplitude)``), segments are in order, do not
    overlap, fit ``max_seconds``, and a burst that fits is never cut."""
    parts, spans, at = [_silence(0.3)], [], 0.3
    for seconds, pause, amplitude in bursts:
        parts += [_tone(seconds, amplitude), _silence(pause)]
        spans.append((round(at * SR), round(at * SR) + round(seconds * SR)))
        at = (sum(p.size for p in parts)) / SR
    wave = np.concatenate(parts)
    segs = split_at_pauses(wave, max_seconds=max_seconds)
    assert segs and all(isinstance(s, Segment) for s in segs)
    assert all(0 <= s.start < s.end <= wave.size for s in segs)
    assert all(a.end <= b.start for a, b in pairwise(segs))
    assert all(s.seconds <= max_seconds + 1e-9 for s in segs)
    for a, b in spans:
        if (b - a) / SR < max_seconds - 0.5:
            assert any(s.start <= a and b <= s.end for s in segs), (a / SR, b / SR)


@pytest.fixture(scope="module")
def shipped() -> Recognizer:
    from speech.asr.__main__ import DEFAULT_MODEL

    return Recognizer.load(DEFAULT_MODEL)


def test_joined_held_out_requests_transcribe_like_clip_by_clip(tiny_corpus, shipped):
    """Six or more held-out requests in one file longer than the 12 s the model trained on:
    one segment per request, about the WER of clip by clip, and the same word times, shifted."""
    corpus, _ = tiny_corpus
    manifest = corpus / "manifest.jsonl"
    utts = [u for u in read_manifest(manifest) if u.split == "test" and u.kind == "request"]
    assert len(utts) >= 3
    # The tiny corpus holds a few test requests: each twice, never twice in a row.
    first = list(range(min(len(utts), 5)))
    order = first + first[1:] + first[:1]
    clips = [load_wav(audio_path(manifest, utts[i])) for i in order]
    pause = np.zeros(round(0.3 * SR), np.float32)
    offsets = np.cumsum([0] + [c.size + pause.size for c in clips[:-1]]) / SR
    wave = np.concatenate([x for c in clips for x in (c, pause)][:-1])
    assert wave.size / SR > shipped.max_segment_seconds

    alone = [shipped.transcribe(c) for c in clips]
    joined = shipped.transcribe(wave)
    refs = [utts[i].text.split() for i in order]
    words = sum(len(r) for r in refs)
    wer_alone = (
        sum(word_errors(r, a.text.split()) for r, a in zip(refs, alone, strict=True)) / words
    )
    wer_joined = word_errors([w for r in refs for w in r], joined.text.split()) / words
    assert len(shipped.segments(wave)) == len(clips)
    # About 40 words: the model's guesses at words it hardly knows change with a few hundredths
    # of a second more or less silence around a clip, a word or two either way, so the margin
    # is wide here; experiments/results/asr_long_recordings.md compares 6,000 words.
    assert wer_joined <= wer_alone + 0.15, (wer_joined, wer_alone)
    assert joined.text == " ".join(w.w for w in joined.words)
    assert joined.confidence == pytest.approx(np.mean([w.conf for w in joined.words]))

    # Each clip's words against the joined words that fall inside its stretch of the file,
    # paired where the two transcripts agree (a word heard differently has other bounds).
    paired = 0
    for clip, t, off in zip(clips, alone, offsets, strict=True):
        inside = [w for w in joined.words if off <= (w.start + w.end) / 2 < off + clip.size / SR]
        m = difflib.SequenceMatcher(a=[w.w for w in t.words], b=[w.w for w in inside])
        for op, i1, i2, j1, j2 in m.get_opcodes():
            if op == "equal":
                for a, b in zip(t.words[i1:i2], inside[j1:j2], strict=True):
                    assert abs(b.start - (a.start + off)) <= 0.15, (a, b, off)
                    assert abs(b.end - (a.end + off)) <= 0.15, (a, b, off)
                    paired += 1
    assert paired >= 0.7 * sum(len(t.words) for t in alone)


def test_short_clips_keep_the_one_piece_path(tiny_corpus, shipped):
    """Up to ``max_segment_seconds`` the recording is decoded whole, exactly as before."""
    corpus, _ = tiny_corpus
    manifest = corpus / "manifest.jsonl"
    utt = next(u for u in read_manifest(manifest) if u.split == "test" and u.kind == "request")
    wave = load_wav(audio_path(manifest, utt))
    ((start, piece),) = shipped.segments(wave)
    assert start == 0 and np.array_equal(piece, wave)
    lp = shipped.log_probs(wave)
    words = align_words(
        lp,
        shipped.decode(lp),
        shipped.vocab,
        frame_seconds=shipped.model.frame_seconds,
        offsets=shipped.offsets,
    )
    assert [w.as_dict() for w in shipped.transcribe(wave).words] == [w.as_dict() for w in words]
