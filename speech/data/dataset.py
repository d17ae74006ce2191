"""Manifest-backed dataset, typed batches and length-bucketed batching.

A :class:`ManifestDataset` selects manifest lines and reads their audio lazily;
:class:`BucketBatchSampler` groups clips of similar length so padding stays small and
each batch holds about the same number of seconds of audio; :func:`collate` pads them
into a :class:`Batch`. :func:`make_loader` wires the three into a ``DataLoader``::

    loader = make_loader(ds, max_batch_seconds=120.0, shuffle=True, seed=0)
    for epoch in range(epochs):
        loader.batch_sampler.set_epoch(epoch)
        for batch in loader:
            batch = batch.to(device)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from speech import SAMPLE_RATE
from speech.audio import AudioError, load_wav
from speech.data.manifest import Utterance, audio_path, read_manifest


class Example(NamedTuple):
    """One clip. wave: (S,) float32; label: class index or -1; tokens: (L,) int64."""

    wave: Tensor
    label: int
    tokens: Tensor
    id: str


class Batch(NamedTuple):
    """A padded batch of B clips.

    Attributes:
        waves: (B, S) float32, zero-padded to the longest clip.
        wave_lengths: (B,) int64, valid samples per clip.
        labels: (B,) int64 class indices, -1 where the clip has no label.
        targets: (B, L) int64 token ids padded with 0 (CTC blank), L the longest target.
        target_lengths: (B,) int64, valid tokens per clip.
        ids: B utterance ids.
    """

    waves: Tensor
    wave_lengths: Tensor
    labels: Tensor
    targets: Tensor
    target_lengths: Tensor
    ids: list[str]

    def to(self, device: torch.device | str, non_blocking: bool = True) -> Batch:
        """A new batch with every tensor on ``device`` (copies overlap compute when pinned)."""
        return Batch(
            *(t.to(device, non_blocking=non_blocking) for t in self[:5]),
            ids=list(self.ids),
        )


def collate(examples: Sequence[Example]) -> Batch:
    """Pad a list of examples into a :class:`Batch`."""
    if not examples:
        raise ValueError("cannot collate an empty list of examples")
    waves = torch.nn.utils.rnn.pad_sequence([e.wave for e in examples], batch_first=True)
    targets = torch.nn.utils.rnn.pad_sequence(
        [e.tokens.long() for e in examples], batch_first=True, padding_value=0
    )
    return Batch(
        waves=waves.float(),
        wave_lengths=torch.tensor([e.wave.shape[0] for e in examples], dtype=torch.long),
        labels=torch.tensor([e.label for e in examples], dtype=torch.long),
        targets=targets,
        target_lengths=torch.tensor([e.tokens.shape[0] for e in examples], dtype=torch.long),
        ids=[e.id for e in examples],
    )


def _as_set(name: str, values: str | Iterable[str] | None) -> frozenset[str] | None:
    if values is None:
        return None
    # A bare string is one value, not a set of characters.
    out = frozenset([values]) if isinstance(values, str) else frozenset(values)
    if not out:
        raise ValueError(f"{name} is empty; pass None to keep every {name[:-1]}")
    return out


class ManifestDataset(Dataset[Example]):
    """Utterances of a manifest, filtered; audio is read on access.

    Args:
        manifest_path: the JSON Lines manifest; audio paths are relative to it.
        split: keep only this split (``"train"``, ``"dev"``, ``"test"``), or these splits.
        kinds: keep only these kinds (``"wake"``, ``"command"``, ...).
        speakers: keep only these speakers.
        label_fn: utterance -> class index; without it every label is -1.
        tokenize: text -> token ids; without it every target is empty.
        max_duration: drop utterances longer than this many seconds.
        sample_rate: rate the model needs; other rates are resampled by ``load_wav``.
        crop_seconds: randomly crop longer clips to this length (for classification;
            refused with ``tokenize``, since a crop would cut words out of the target).

    Raises:
        ValueError: no utterance passes the filters.
    """

    def __init__(
        self,
        manifest_path: str | os.PathLike,
        *,
        split: str | Iterable[str] | None = None,
        kinds: str | Iterable[str] | None = None,
        speakers: str | Iterable[str] | None = None,
        label_fn: Callable[[Utterance], int] | None = None,
        tokenize: Callable[[str], list[int]] | None = None,
        max_duration: float | None = None,
        sample_rate: int = SAMPLE_RATE,
        crop_seconds: float | None = None,
    ) -> None:
        if crop_seconds is not None and tokenize is not None:
            raise ValueError(
                "crop_seconds with tokenize would cut words out of the targets; use one"
            )
        if crop_seconds is not None and crop_seconds <= 0:
            raise ValueError(f"crop_seconds must be positive, got {crop_seconds}")
        self.manifest_path = Path(manifest_path)
        split_set = _as_set("splits", split)
        kind_set = _as_set("kinds", kinds)
        speaker_set = _as_set("speakers", speakers)
        self.utterances = [
            u
            for u in read_manifest(self.manifest_path)
            if (split_set is None or u.split in split_set)
            and (kind_set is None or u.kind in kind_set)
            and (speaker_set is None or u.speaker in speaker_set)
            and (max_duration is None or u.duration <= max_duration)
        ]
        if not self.utterances:
            filters = {
                "split": split,
                "kinds": sorted(kind_set) if kind_set else None,
                "speakers": sorted(speaker_set) if speaker_set else None,
                "max_duration": max_duration,
            }
            active = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None)
            raise ValueError(
                f"{self.manifest_path}: no utterance matches ({active or 'no filters'}); "
                "check the filter values against the manifest's split/kind/speaker fields"
            )
        self.label_fn = label_fn
        self.tokenize = tokenize
        self.sample_rate = sample_rate
        self.crop_seconds = crop_seconds

    def __len__(self) -> int:
        return len(self.utterances)

    @property
    def durations(self) -> list[float]:
        """Seconds per item, from the manifest (no audio is read); capped by ``crop_seconds``."""
        if self.crop_seconds is None:
            return [u.duration for u in self.utterances]
        return [min(u.duration, self.crop_seconds) for u in self.utterances]

    def __getitem__(self, index: int) -> Example:
        utt = self.utterances[index]
        try:
            wave = load_wav(audio_path(self.manifest_path, utt), sample_rate=self.sample_rate)
        except AudioError as exc:
            raise AudioError(f"{exc} (utterance {utt.id!r} of {self.manifest_path})") from exc
        if self.crop_seconds is not None:
            keep = round(self.crop_seconds * self.sample_rate)
            if wave.shape[0] > keep:
                start = int(torch.randint(0, wave.shape[0] - keep + 1, ()).item())
                wave = wave[start : start + keep]
        label = int(self.label_fn(utt)) if self.label_fn is not None else -1
        tokens = self.tokenize(utt.text) if self.tokenize is not None else []
        return Example(
            wave=torch.from_numpy(np.ascontiguousarray(wave)),
            label=label,
            tokens=torch.as_tensor(tokens, dtype=torch.long).reshape(-1),
            id=utt.id,
        )


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar-length clips, capped by padded seconds of audio.

    Each epoch: sort indices by duration, shuffling among clips whose lengths differ by
    less than ``bucket_ratio`` (relative), pack consecutive clips greedily so that
    ``longest duration in batch x batch size <= max_batch_seconds`` (the padded audio the
    model sees), then shuffle the order of batches. The packing depends on the epoch, so
    call :meth:`set_epoch` before iterating; ``len()`` is exact for the current epoch.

    With ``num_replicas > 1`` every rank builds the same batches from ``seed`` and the
    epoch and takes every ``num_replicas``-th one, so ranks get disjoint batches and the
    same count: the list is padded by repeating batches from its start, or, with
    ``drop_last``, cut to a multiple of ``num_replicas`` (``drop_last`` changes nothing on
    one replica, where every index appears exactly once per epoch).

    Raises:
        ValueError: a clip longer than ``max_batch_seconds`` (it fits no batch; filter it
            with ``ManifestDataset(max_duration=...)``), or no durations at all.
    """

    def __init__(
        self,
        durations: Sequence[float],
        *,
        max_batch_seconds: float,
        max_batch_size: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        num_replicas: int = 1,
        rank: int = 0,
        bucket_ratio: float = 0.1,
    ) -> None:
        self.durations = np.asarray(durations, dtype=np.float64)
        if self.durations.size == 0:
            raise ValueError("no durations to batch")
        if max_batch_seconds <= 0:
            raise ValueError(f"max_batch_seconds must be positive, got {max_batch_seconds}")
        longest = int(self.durations.argmax())
        if self.durations[longest] > max_batch_seconds:
            raise ValueError(
                f"item {longest} lasts {self.durations[longest]:.2f} s, more than "
                f"max_batch_seconds={max_batch_seconds}; raise it or drop long clips "
                "(ManifestDataset(max_duration=...))"
            )
        if max_batch_size is not None and max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(
                f"need 0 <= rank < num_replicas, got rank={rank}, num_replicas={num_replicas}"
            )
        self.max_batch_seconds = float(max_batch_seconds)
        self.max_batch_size = max_batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.num_replicas = num_replicas
        self.rank = rank
        self.bucket_ratio = bucket_ratio
        self.epoch = 0
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Pick the epoch whose batches the next iteration yields (same on every rank)."""
        self.epoch = epoch

    def _all_batches(self) -> list[list[int]]:
        """Every batch of the current epoch, in order, before sharding across ranks."""
        if self._cache is not None and self._cache[0] == self.epoch:
            return self._cache[1]
        d = self.durations
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            # Stable sort of a random permutation by a coarse log-length key: clips of
            # nearly equal length come out in random order, longer clips still come later.
            perm = rng.permutation(d.size)
            key = np.floor(np.log(np.maximum(d[perm], 1e-3)) / np.log1p(self.bucket_ratio))
            order = perm[np.argsort(key, kind="stable")]
        else:
            order = np.argsort(d, kind="stable")
        batches: list[list[int]] = []
        current: list[int] = []
        longest = 0.0
        for i in order.tolist():
            new_longest = max(longest, d[i])
            full = self.max_batch_size is not None and len(current) >= self.max_batch_size
            if current and (full or new_longest * (len(current) + 1) > self.max_batch_seconds):
                batches.append(current)
                current, new_longest = [], d[i]
            current.append(i)
            longest = new_longest
        batches.append(current)
        if self.shuffle:
            batches = [batches[j] for j in rng.permutation(len(batches))]
        self._cache = (self.epoch, batches)
        return batches

    def _rank_batches(self) -> list[list[int]]:
        batches = self._all_batches()
        r = self.num_replicas
        if r == 1:
            return batches
        if self.drop_last:
            batches = batches[: len(batches) // r * r]
        else:
            total = -(-len(batches) // r) * r
            batches = [batches[j % len(batches)] for j in range(total)]
        return batches[self.rank :: r]

    def __iter__(self) -> Iterator[list[int]]:
        return iter([list(b) for b in self._rank_batches()])

    def __len__(self) -> int:
        return len(self._rank_batches())


def make_loader(
    dataset: ManifestDataset,
    *,
    max_batch_seconds: float,
    shuffle: bool,
    seed: int,
    num_workers: int = 0,
    ddp: bool = False,
    max_batch_size: int | None = None,
) -> DataLoader:
    """A ``DataLoader`` of :class:`Batch` es over ``dataset``, length-bucketed.

    With ``ddp=True`` the rank and world size come from the initialised
    ``torch.distributed`` process group. Call ``loader.batch_sampler.set_epoch(epoch)``
    at the start of every epoch.
    """
    num_replicas, rank = 1, 0
    if ddp:
        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            raise RuntimeError(
                "make_loader(ddp=True) needs an initialised process group; launch with "
                "torchrun and call torch.distributed.init_process_group first"
            )
        num_replicas, rank = torch.distributed.get_world_size(), torch.distributed.get_rank()
    sampler = BucketBatchSampler(
        dataset.durations,
        max_batch_seconds=max_batch_seconds,
        max_batch_size=max_batch_size,
        shuffle=shuffle,
        seed=seed,
        num_replicas=num_replicas,
        rank=rank,
    )
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0,
    )
