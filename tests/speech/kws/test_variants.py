"""Wake-phrase variants: new renderings per voice, test speakers never rendered, dev kept apart."""

from __future__ import annotations

import json

import numpy as np
import pytest

from speech.audio import load_wav
from speech.data.manifest import audio_path, read_manifest
from speech.data.voices import CATALOGUE, Prosody, synthesize
from speech.kws.task import KWSTask
from speech.kws.variants import (
    ESPEAK_ACCENTS,
    build_variants,
    speaker_key,
    variant_voices,
    variants_dir,
)


def test_speaker_key_joins_engines_of_one_person():
    by_name = {v.name: v for v in CATALOGUE}
    assert speaker_key(by_name["flite-kal16"]) == speaker_key(by_name["fest-kal"]) == "kal"
    assert speaker_key(by_name["fest-ked-up3"]) == "ked"
    assert speaker_key(by_name["flite-awb-up2"]) == "awb"
    assert speaker_key(by_name["espeak-f2"]) == "espeak"


def test_prosody_changes_the_rendering():
    rms = next(v for v in CATALOGUE if v.name == "flite-rms")
    plain, slow = synthesize(
        rms, ["hey nova", "hey nova"], prosody=[Prosody(), Prosody(stretch=1.3, pitch_cents=200)]
    )
    assert len(slow.wave) > 1.15 * len(plain.wave)


def test_variants_hold_out_test_speakers(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    spec = json.loads((out / "spec.json").read_text())
    chosen = {v.name: split for v, split in variant_voices(out)}
    assert "flite-awb" not in chosen  # the test family
    assert chosen == {"flite-rms": "train", "fest-kal": "train", "flite-slt": "dev"}

    manifest = build_variants(out, per_voice=2, workers=1, progress=False)
    assert build_variants(out, per_voice=2, workers=1, progress=False) == manifest  # reused
    utts = read_manifest(manifest)
    assert {u.speaker for u in utts} == set(chosen)
    for u in utts:
        assert u.split == chosen[u.speaker]
        wave = load_wav(audio_path(manifest, u))
        assert len(wave) / 16000 == pytest.approx(u.duration, abs=1e-3)
        if u.kind == "wake":
            assert u.text == spec["wake_phrase"]
            assert 0 < u.words[-1].end <= u.duration
        else:
            assert f" {spec['wake_phrase']} " not in f" {u.text} "
    assert sum(u.kind == "wake" for u in utts) == 2 * len(chosen)
    assert sum(u.text in spec["confusables"] for u in utts) == 2 * len(chosen)
    # Two renderings of one voice differ (fresh prosody), beyond level and padding.
    rms = [u for u in utts if u.speaker == "flite-rms" and u.kind == "wake"]
    spans = [u.words[-1].end - u.words[0].start for u in rms]
    assert not np.isclose(spans[0], spans[1], atol=0.005)

    task = KWSTask(
        out / "manifest.jsonl",
        model={"channels": 16, "dilations": [1, 2, 4]},
        variants=2,
        batch_seconds=20.0,
    )
    train, dev = task.datasets()
    ids = {u.id for u in train.utts}
    assert {u.id for u in utts if u.split == "train"} <= ids
    assert not {u.id for u in utts if u.split == "dev"} & ids  # dev speakers stay unseen
    assert not any(u.id.startswith("var-") for u in dev.utts)  # validation: the corpus only
    ex = train[next(i for i, u in enumerate(train.utts) if u.id.startswith("var-"))]
    assert ex.wave.numel() > 0


def test_full_catalogue_adds_accents_and_names_the_build_by_its_settings(tmp_path):
    spec = {
        "voices": None,
        "test_families": ["flite-awb", "fest-ked"],
        "dev_families": ["flite-kal16"],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    plain, chosen = variant_voices(tmp_path, accents=False), variant_voices(tmp_path)
    assert not any(v.name.startswith("espeak-en-") for v, _ in plain)
    assert len(chosen) == len(plain) + 2 * len(ESPEAK_ACCENTS)
    assert {speaker_key(v) for v, _ in chosen}.isdisjoint({"awb", "ked"})
    assert {split for v, split in chosen if speaker_key(v) == "kal"} == {"dev"}
    accents = [v for v, _ in chosen if v.name.startswith("espeak-en-")]
    assert {v.model.split("+")[0] for v in accents} == set(ESPEAK_ACCENTS)
    (scottish,) = synthesize(next(v for v in accents if "scotland" in v.model), ["hey nova"])
    assert scottish is not None and len(scottish.wave) > 0.3 * 16000

    first = variants_dir(tmp_path, 100, 0)
    assert variants_dir(tmp_path, 100, 0) == first
    assert variants_dir(tmp_path, 100, 1) != first
    assert variants_dir(tmp_path, 100, 0, accents=False) != first
    spec["test_families"] = ["flite-awb"]  # another voice list: never the same build
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    assert variants_dir(tmp_path, 100, 0) != first


def test_bad_variant_settings(tiny_corpus):
    out, _ = tiny_corpus
    with pytest.raises(ValueError, match="per_voice"):
        build_variants(out, per_voice=0)
    with pytest.raises(ValueError, match="variants"):
        KWSTask(out / "manifest.jsonl", model={}, variants=-1)


def test_the_variants_command_refuses_bad_settings(tiny_corpus, capsys):
    from speech.kws.__main__ import main

    out, _ = tiny_corpus
    with pytest.raises(SystemExit) as exit_:
        main(["variants", str(out), "--per-voice", "0"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("error: ")
