"""TTS engines: every engine speaks, missing tools name their Debian package, failures are counted."""

from __future__ import annotations

import json
import logging

import pytest

from speech.data import voices
from speech.data.calibrate import VoiceReport, select


@pytest.mark.parametrize(
    "name", ["flite-rms", "fest-kal", "fest-slt-a52", "espeak-klatt4", "flite-slt-down2"]
)
def test_each_engine_speaks_at_16k(name):
    (voice,) = voices.catalogue([name])
    (clip,) = voices.synthesize(voice, ["set a timer for five minutes"])
    assert clip is not None and clip.wave.dtype.name == "float32"
    assert 0.8 < len(clip.wave) / 16000 < 4.0
    assert abs(clip.wave).max() == pytest.approx(0.7, rel=1e-3)
    if voice.engine == "festival":  # festival reports its own word times
        assert [w.w for w in clip.words] == ["set", "a", "timer", "for", "five", "minutes"]
        assert all(
            a.end <= b.start + 1e-6 for a, b in zip(clip.words, clip.words[1:], strict=False)
        )
    else:
        assert clip.words is None


def test_tempo_scales_festival_word_times():
    base, fast = voices.catalogue(["fest-slt", "fest-slt-a56"])
    (a,), (b,) = (
        voices.synthesize(base, ["call the office"]),
        voices.synthesize(fast, ["call the office"]),
    )
    assert b.words[-1].end == pytest.approx(a.words[-1].end / fast.tempo, abs=0.03)


def test_missing_engine_names_debian_package(monkeypatch):
    monkeypatch.setattr(
        voices.shutil, "which", lambda tool: None if tool == "flite" else "/usr/bin/" + tool
    )
    with pytest.raises(voices.EngineMissing, match="apt-get install -y flite"):
        voices.require_tools({"flite"})


def test_failing_voice_is_skipped_with_warning(caplog):
    broken = voices.Voice(name="broken", engine="espeak", family="broken", model="zz-no-such-voice")
    with caplog.at_level(logging.WARNING):
        assert voices.synthesize(broken, ["hello there", "again"]) == [None, None]
    assert "broken" in caplog.text


def test_unknown_voice_name():
    with pytest.raises(ValueError, match="unknown voices"):
        voices.catalogue(["nope"])


def _report(name, family, acc, emb):
    return VoiceReport(name, family, name != family, acc, 10.0, emb)


def test_select_keeps_intelligible_distinct_voices():
    reps = [
        _report("a", "a", 0.9, [1.0, 0.0, 0.0, 0.0]),
        _report("b", "b", 0.4, [0.0, 1.0, 0.0, 0.0]),  # base, too unintelligible
        _report("a-up", "a", 0.85, [0.0, 0.0, 1.0, 0.0]),  # altered, fine
        _report("a-up2", "a", 0.7, [0.0, 0.0, 0.0, 1.0]),  # altered, below 0.8
        _report("a-same", "a", 0.95, [1.0, 0.0, 0.01, 0.0]),  # altered, a clone of a
    ]
    select(reps, min_accuracy_base=0.5, min_accuracy_altered=0.8, max_similarity=0.8)
    assert {r.name: r.kept for r in reps} == {
        "a": True,
        "b": False,
        "a-up": True,
        "a-up2": False,
        "a-same": False,
    }
    assert "too similar" in reps[-1].reason and "accuracy" in reps[1].reason


def test_calibration_cache_made_another_way_is_redone(tmp_path):
    """A cached calibration is reused only if it was measured the current way (METHOD)."""
    from speech.data import calibrate as cal

    (voice,) = voices.catalogue(["flite-kal16"])
    cache = tmp_path / "calibration.json"
    first = cal.calibrate([voice], workers=1, cache=cache)
    assert first[0].word_accuracy > 0 and first[0].embedding
    saved = json.loads(cache.read_text())
    assert saved["method"] == cal.METHOD
    saved["reports"][0]["word_accuracy"] = 0.123  # as if measured differently
    cache.write_text(json.dumps(saved))
    assert cal.calibrate([voice], workers=1, cache=cache)[0].word_accuracy == 0.123  # reused
    del saved["method"]  # a cache from before METHOD existed
    cache.write_text(json.dumps(saved))
    assert cal.calibrate([voice], workers=1, cache=cache)[0].word_accuracy == first[0].word_accuracy
