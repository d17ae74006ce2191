"""Wake-word training examples: clips cropped around the phrase, with its end as the label.

An example's ``label`` is the sample index (within the returned crop) at which the wake
phrase ends, or -1 for a clip without it. Frame targets are derived from it by
:func:`frame_targets`, so they always follow the crop and the feature settings.

A positive clip is continued past the phrase end with its own lead-in (:func:`listen_on`),
as a device keeps listening after the phrase: a target window that starts after the phrase
end (to hear that "hey nova" was not "hey novak") then always lies inside the clip.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from speech import SAMPLE_RATE
from speech.audio import load_wav
from speech.data.dataset import Example
from speech.data.manifest import Utterance, audio_path, read_manifest

# Frames whose window ends within TARGET = (start, stop) seconds of the phrase end are
# positive; frames inside the phrase (partial evidence, from PHRASE before its end) up to the
# window and long after it are ignored, not negative. The window opens 120 ms after the end:
# at the last vowel of "hey nova" the audio cannot yet tell it from "hey novak", and targets
# there taught the model to fire on both.
TARGET, PHRASE = (0.12, 0.45), 0.6
# Evaluation hears every positive until this long after the phrase end (see listen_on).
LISTEN_ON = 0.5


def listen_on(wave: np.ndarray, utt: Utterance, seconds: float) -> np.ndarray:
    """``wave`` continued to at least ``seconds`` past its phrase end, as a device keeps listening.

    The continuation repeats the clip's own lead-in (its room before the first word), so a
    noisy training clip does not end in digital silence; a clip without a usable lead-in (under
    20 ms) is continued with silence. A clip that is already long enough is returned as is.
    """
    if not utt.words:
        return wave
    need = int((utt.words[-1].end + seconds) * SAMPLE_RATE) - len(wave)
    if need <= 0:
        return wave
    lead = wave[: max(0, int((utt.words[0].start - 0.03) * SAMPLE_RATE))]
    tail = np.resize(lead, need) if len(lead) >= SAMPLE_RATE // 50 else np.zeros(need)
    return np.concatenate([wave, tail.astype(wave.dtype)])


def load_positive(manifest: str | os.PathLike, utt: Utterance) -> np.ndarray:
    """A held-out positive as evaluation hears it: continued to LISTEN_ON after the phrase."""
    return listen_on(load_wav(audio_path(manifest, utt)), utt, LISTEN_ON)


class KWSClips(Dataset[Example]):
    """Clips of ``kinds`` from one split, at most ``max_seconds`` long.

    Args:
        manifest: corpus manifest, or several (e.g. the corpus's and its ``kws-variants``).
        split: train, dev or test, or a tuple of them.
        wake_phrase: the phrase; clips whose text is exactly it are positives.
        train: random crops (else a fixed crop that keeps the phrase end).
        target: the positive frame window (start, stop), seconds from the phrase end;
            positives are continued to its stop and crops keep it.
    """

    def __init__(
        self,
        manifest: str | os.PathLike | list[str | os.PathLike],
        *,
        split: str | tuple[str, ...],
        wake_phrase: str,
        kinds: tuple[str, ...] = ("wake", "negative", "request"),
        max_seconds: float = 2.0,
        train: bool = True,
        seed: int = 0,
        speakers: set[str] | None = None,
        target: tuple[float, float] = TARGET,
    ):
        manifests = [manifest] if isinstance(manifest, (str, os.PathLike)) else list(manifest)
        splits = (split,) if isinstance(split, str) else tuple(split)
        self.utts: list[Utterance] = []
        self.paths: list[os.PathLike | str] = []  # each clip's manifest, for its audio path
        for m in manifests:
            for u in read_manifest(m):
                if (
                    u.split in splits
                    and u.kind in kinds
                    and (speakers is None or u.speaker in speakers)
                ):
                    self.utts.append(u)
                    self.paths.append(m)
        if not self.utts:
            raise ValueError(f"{manifests}: no {kinds} clips in split {split!r}")
        self.wake_phrase = wake_phrase
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        self.train = train
        self.target = check_target(target)
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.utts)

    @property
    def durations(self) -> list[float]:
        # Every clip counts as a full crop: the sampler then mixes kinds in every batch instead
        # of grouping (capped) requests apart from short wake clips, which stalled training.
        return [self.max_samples / SAMPLE_RATE] * len(self.utts)

    def is_positive(self, utt: Utterance) -> bool:
        return utt.text == self.wake_phrase and bool(utt.words)

    def __getitem__(self, index: int) -> Example:
        utt = self.utts[index]
        wave = load_wav(audio_path(self.paths[index], utt))
        end = -1
        if self.is_positive(utt):
            end = int(utt.words[-1].end * SAMPLE_RATE)
            wave = listen_on(wave, utt, self.target[1])
        late = int(self.target[1] * SAMPLE_RATE)
        rng = random.Random(
            self.seed * 1_000_003 + index + (self.epoch * 7919 if self.train else 0)
        )
        start = 0
        if len(wave) > self.max_samples:
            if end >= 0:  # keep the phrase end and what follows it inside the crop
                hi = min(end - int(PHRASE * SAMPLE_RATE), len(wave) - self.max_samples)
                lo = max(0, end + late - self.max_samples)
                start = rng.randint(lo, max(lo, hi)) if self.train else max(lo, min(hi, lo))
            else:
                start = rng.randint(0, len(wave) - self.max_samples) if self.train else 0
            wave = wave[start : start + self.max_samples]
        label = end - start if end >= 0 else -1
        return Example(torch.from_numpy(wave), label, torch.zeros(0, dtype=torch.long), utt.id)


def check_target(target) -> tuple[float, float]:
    """``target`` as a (start, stop) pair of floats, or a ValueError naming the rule."""
    start, stop = (float(x) for x in target)
    if not -PHRASE < start < stop:
        raise ValueError(
            f"target window {target}: needs -{PHRASE} < start < stop (seconds from the phrase end)"
        )
    return start, stop


def frame_targets(
    labels: Tensor,
    wave_lengths: Tensor,
    n_frames: int,
    *,
    hop: int,
    window: int,
    target: tuple[float, float] = TARGET,
) -> tuple[Tensor, Tensor]:
    """Per-frame targets and a mask of frames that count.

    Args:
        labels: (B,) phrase-end sample or -1.
        wave_lengths: (B,) valid samples.
        n_frames: T, frames in the feature batch.
        hop, window: feature hop and window (n_fft) in samples; frame t ends at t*hop+window.
        target: positive window (start, stop), seconds from the phrase end.

    Returns:
        targets (B, T) float in {0, 1}; mask (B, T) bool.
    """
    ends = torch.arange(n_frames, device=labels.device) * hop + window  # (T,)
    valid = ends[None, :] <= wave_lengths[:, None].clamp(min=window)
    lab = labels[:, None]
    pos = lab >= 0
    start, stop = (int(x * SAMPLE_RATE) for x in check_target(target))
    phrase = int(PHRASE * SAMPLE_RATE)
    hit = pos & (ends >= lab + start) & (ends <= lab + stop)
    ignore = pos & (((ends >= lab - phrase) & (ends < lab + start)) | (ends > lab + stop))
    return hit.float(), valid & ~ignore
