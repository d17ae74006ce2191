"""ManifestDataset, collate, BucketBatchSampler and make_loader on a tiny generated corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from speech.audio import AudioError
from speech.data.dataset import (
    Batch,
    BucketBatchSampler,
    Example,
    ManifestDataset,
    collate,
    make_loader,
)
from speech.data.manifest import Utterance, write_manifest

SR = 16000

# (id, seconds, split, kind, speaker, text)
CLIPS = [
    ("a", 0.30, "train", "wake", "s1", "hey sotto"),
    ("b", 0.50, "train", "command", "s1", "lights on"),
    ("c", 0.20, "train", "negative", "s2", "hello"),
    ("d", 0.40, "dev", "wake", "s3", "hey sotto"),
    ("e", 0.10, "train", "command", "s2", "stop"),
]


def _tokenize(text: str) -> list[int]:
    return [ord(c) - 96 if c != " " else 27 for c in text]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    utts = []
    for cid, sec, split, kind, spk, text in CLIPS:
        rel = f"wav/{cid}.wav"
        (tmp_path / "wav").mkdir(exist_ok=True)
        sf.write(tmp_path / rel, 0.1 * rng.standard_normal(round(sec * SR)), SR, subtype="PCM_16")
        utts.append(Utterance(cid, rel, sec, text, spk, f"dev-{spk}", split, kind))
    manifest = tmp_path / "manifest.jsonl"
    write_manifest(manifest, utts)
    return manifest


def test_reads_every_clip_lazily(corpus: Path) -> None:
    ds = ManifestDataset(corpus, tokenize=_tokenize, label_fn=lambda u: int(u.kind == "wake"))
    assert len(ds) == 5
    assert ds.durations == [c[1] for c in CLIPS]
    ex = ds[0]
    assert isinstance(ex, Example)
    assert ex.id == "a" and ex.label == 1
    assert ex.wave.dtype == torch.float32 and ex.wave.shape == (round(0.3 * SR),)
    assert ex.tokens.tolist() == _tokenize("hey sotto")


def test_defaults_give_no_label_and_no_tokens(corpus: Path) -> None:
    ex = ManifestDataset(corpus)[1]
    assert ex.label == -1 and ex.tokens.shape == (0,) and ex.tokens.dtype == torch.long


def test_filters(corpus: Path) -> None:
    ids = lambda ds: [u.id for u in ds.utterances]  # noqa: E731
    assert ids(ManifestDataset(corpus, split="train")) == ["a", "b", "c", "e"]
    assert ids(ManifestDataset(corpus, kinds="wake")) == ["a", "d"]
    assert ids(ManifestDataset(corpus, kinds=["wake", "command"], split="train")) == ["a", "b", "e"]
    assert ids(ManifestDataset(corpus, speakers={"s2"})) == ["c", "e"]
    assert ids(ManifestDataset(corpus, max_duration=0.3)) == ["a", "c", "e"]


def test_empty_selection_names_filters_and_manifest(corpus: Path) -> None:
    with pytest.raises(ValueError, match=r"manifest\.jsonl.*split='dev'.*kinds=\['negative'\]"):
        ManifestDataset(corpus, split="dev", kinds="negative")


def test_corrupt_wav_raises_naming_the_file(corpus: Path) -> None:
    (corpus.parent / "wav" / "b.wav").write_bytes(b"RIFF\x00\x00not really a wav")
    ds = ManifestDataset(corpus)
    with pytest.raises(AudioError, match=r"b\.wav.*utterance 'b'"):
        ds[1]


def test_crop_caps_length_and_durations(corpus: Path) -> None:
    ds = ManifestDataset(corpus, crop_seconds=0.25)
    assert ds.durations == [0.25, 0.25, 0.2, 0.25, 0.1]
    assert ds[1].wave.shape == (4000,) and ds[4].wave.shape == (1600,)
    with pytest.raises(ValueError, match="crop_seconds"):
        ManifestDataset(corpus, crop_seconds=1.0, tokenize=_tokenize)


def test_collate_pads_and_records_lengths() -> None:
    exs = [
        Example(torch.ones(3), 1, torch.tensor([4, 5]), "x"),
        Example(torch.ones(5), -1, torch.tensor([], dtype=torch.long), "y"),
    ]
    b = collate(exs)
    assert b.waves.tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert b.wave_lengths.tolist() == [3, 5]
    assert b.labels.tolist() == [1, -1]
    assert b.targets.tolist() == [[4, 5], [0, 0]]
    assert b.target_lengths.tolist() == [2, 0]
    assert b.ids == ["x", "y"]
    assert b.waves.dtype == torch.float32
    assert all(t.dtype == torch.long for t in (b.wave_lengths, b.labels, b.targets))
    moved = b.to("cpu")
    assert isinstance(moved, Batch) and moved.ids == b.ids and moved.ids is not b.ids


def _check_batches(batches: list[list[int]], durations: list[float], max_s: float) -> None:
    for b in batches:
        assert b and max(durations[i] for i in b) * len(b) <= max_s + 1e-9


@settings(max_examples=60, deadline=None)
@given(
    durations=st.lists(st.floats(0.05, 5.0), min_size=1, max_size=80),
    max_s=st.floats(5.0, 30.0),
    max_size=st.one_of(st.none(), st.integers(1, 8)),
    seed=st.integers(0, 100),
    epoch=st.integers(0, 5),
    shuffle=st.booleans(),
)
def test_sampler_covers_each_index_once_within_budget(
    durations: list[float], max_s: float, max_size: int | None, seed: int, epoch: int, shuffle: bool
) -> None:
    s = BucketBatchSampler(
        durations, max_batch_seconds=max_s, max_batch_size=max_size, shuffle=shuffle, seed=seed
    )
    s.set_epoch(epoch)
    batches = list(s)
    assert len(batches) == len(s)
    assert sorted(i for b in batches for i in b) == list(range(len(durations)))
    _check_batches(batches, durations, max_s)
    if max_size is not None:
        assert all(len(b) <= max_size for b in batches)


@settings(max_examples=60, deadline=None)
@given(
    durations=st.lists(st.floats(0.05, 5.0), min_size=1, max_size=80),
    replicas=st.integers(1, 5),
    drop_last=st.booleans(),
    epoch=st.integers(0, 3),
)
def test_ddp_ranks_are_disjoint_and_equal(
    durations: list[float], replicas: int, drop_last: bool, epoch: int
) -> None:
    samplers = [
        BucketBatchSampler(
            durations,
            max_batch_seconds=6.0,
            seed=3,
            drop_last=drop_last,
            num_replicas=replicas,
            rank=r,
        )
        for r in range(replicas)
    ]
    for s in samplers:
        s.set_epoch(epoch)
    per_rank = [list(s) for s in samplers]
    assert len({len(b) for b in per_rank}) == 1
    assert all(len(b) == len(s) for b, s in zip(per_rank, samplers, strict=True))
    for b in per_rank:
        _check_batches(b, durations, 6.0)
    everything = [tuple(b) for rank in per_rank for b in rank]
    n_distinct = len(set(everything))
    single = BucketBatchSampler(durations, max_batch_seconds=6.0, seed=3)
    single.set_epoch(epoch)
    total = len(single)
    if drop_last:
        assert n_distinct == len(everything)  # nothing repeated
    else:
        assert n_distinct == total  # every batch somewhere; repeats only pad
        assert sorted({i for b in everything for i in b}) == list(range(len(durations)))


def test_sampler_epochs_differ_and_are_reproducible() -> None:
    durations = [0.1 * (i % 17 + 1) for i in range(200)]
    s = BucketBatchSampler(durations, max_batch_seconds=8.0, seed=1)
    first = list(s)
    assert list(s) == first
    s.set_epoch(1)
    assert list(s) != first
    assert list(BucketBatchSampler(durations, max_batch_seconds=8.0, seed=1)) == first


def test_sampler_refuses_clip_longer_than_budget() -> None:
    with pytest.raises(ValueError, match=r"item 1 lasts 9\.00 s"):
        BucketBatchSampler([1.0, 9.0], max_batch_seconds=5.0)


def test_loader_yields_batches(corpus: Path) -> None:
    ds = ManifestDataset(corpus, split="train", tokenize=_tokenize)
    loader = make_loader(ds, max_batch_seconds=0.6, shuffle=True, seed=0)
    loader.batch_sampler.set_epoch(2)
    batches = list(loader)
    assert len(batches) == len(loader)
    assert all(isinstance(b, Batch) for b in batches)
    assert sorted(i for b in batches for i in b.ids) == ["a", "b", "c", "e"]
    for b in batches:
        assert b.waves.shape == (len(b.ids), int(b.wave_lengths.max()))
        assert b.waves.shape[1] * len(b.ids) <= 0.6 * SR
    with pytest.raises(RuntimeError, match="process group"):
        make_loader(ds, max_batch_seconds=1.0, shuffle=False, seed=0, ddp=True)
