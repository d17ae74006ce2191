"""The data=tiny corpus honours the manifest contract, is cached, resumes and is deterministic."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import soundfile as sf

from speech.data.build import build_corpus
from speech.data.manifest import audio_path, read_manifest


def test_manifest_contract(tiny_corpus):
    out, summary = tiny_corpus
    utts = read_manifest(out / "manifest.jsonl")
    assert {u.kind for u in utts} == {"wake", "negative", "request", "stream"}
    assert len({u.id for u in utts}) == len(utts)
    for u in utts:
        info = sf.info(str(audio_path(out / "manifest.jsonl", u)))
        assert info.samplerate == 16000 and info.channels == 1
        assert abs(info.frames / 16000 - u.duration) < 1e-3
        assert [w.w for w in u.words] == u.text.split(), u.id
        assert all(0 <= w.start < w.end <= u.duration + 1e-3 for w in u.words), u.id
        assert all(a.start <= b.start for a, b in zip(u.words, u.words[1:], strict=False))
        assert u.device and u.split in ("train", "dev", "test") and u.sample_rate == 16000
        for p in u.pii:
            assert 0 <= p.start_word <= p.end_word < len(u.words)
        if u.kind == "wake":
            assert u.text == "hey nova"
        else:
            assert " hey nova " not in f" {u.text} "
        if u.kind != "stream":
            assert u.synth["engine"] and u.synth["times"] in ("festival", "aligned", "estimated")
    assert summary["hours"]["total"] > 0 and summary["synthesis_failed"] == 0


def test_splits_are_speaker_disjoint_and_devices_single_speaker(tiny_corpus):
    out, _ = tiny_corpus
    utts = [u for u in read_manifest(out / "manifest.jsonl") if u.kind != "stream"]
    split_of = {}
    for u in utts:
        assert split_of.setdefault(u.speaker, u.split) == u.split
    assert set(split_of.values()) == {"train", "dev", "test"}
    speakers_of_device = {}
    for u in utts:
        assert speakers_of_device.setdefault(u.device, u.speaker) == u.speaker
    assert all(u.augment is None for u in utts if u.split == "test")  # test clips stay clean
    assert any(u.augment for u in utts if u.split == "train")


def test_stream_is_long_and_free_of_the_wake_phrase(tiny_corpus):
    out, _ = tiny_corpus
    (stream,) = [u for u in read_manifest(out / "manifest.jsonl") if u.kind == "stream"]
    assert stream.split == "test" and stream.duration == 36.0
    assert len(stream.words) > 10 and " hey nova " not in f" {stream.text} "


def test_rebuild_is_cached(tiny_corpus, tiny_spec):
    out, _ = tiny_corpus
    t = time.time()
    again, summary = build_corpus(tiny_spec, out.parent, workers=1, progress=False)
    assert again == out and summary["cached"] and time.time() - t < 1.0


def test_interrupted_build_resumes_and_regenerates_identically(tiny_corpus, tiny_spec):
    out, _ = tiny_corpus
    before = (out / "manifest.jsonl").read_text()
    shard = sorted((out / "shards").glob("dev*-request-*.jsonl"))[0]
    first_id = json.loads(shard.read_text().splitlines()[1])["id"]
    wav = next((out / "audio").rglob(f"{first_id}.wav"))
    audio_before = sf.read(str(wav))[0]
    # Simulate a crash: one shard lost, no manifest or summary written.
    shard.unlink()
    os.remove(out / "summary.json")
    os.remove(out / "manifest.jsonl")
    _, summary = build_corpus(tiny_spec, out.parent, workers=1, progress=False)
    assert not summary["cached"]
    assert (out / "manifest.jsonl").read_text() == before
    assert np.array_equal(sf.read(str(wav))[0], audio_before)


def test_build_does_not_depend_on_the_number_of_workers(tiny_corpus, tiny_spec, tmp_path):
    """Same settings, same corpus: word times and voice reports must not depend on which
    worker process happened to handle which shard (or voice) before."""
    out, _ = tiny_corpus
    other, _ = build_corpus(tiny_spec, tmp_path, workers=1, progress=False)
    assert (other / "manifest.jsonl").read_text() == (out / "manifest.jsonl").read_text()
    assert (other / "voices.json").read_text() == (out / "voices.json").read_text()
