"""Central checks of a global model, on the server, on data no device contributed.

The wake word: the threshold giving 0.5 false accepts per hour on the central corpus's long
negative streams, the false accepts per hour at the checkpoint's stored threshold, and the
false-reject rate of the central test positives at both (so forgetting would show). The
recognizer: greedy WER on the central test requests. ``split="dev"`` scores the dev positives
or requests instead (the streams, which set the operating point, are always the test ones):
what a run that chooses its best round guards with, so that the test figures it reports
were never used to choose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from speech.data.manifest import audio_path, read_manifest


@torch.no_grad()
def evaluate_central(
    model: torch.nn.Module,
    meta: dict[str, Any],
    manifest: str | Path,
    *,
    task=None,
    target_fa_per_hour: float = 0.5,
    max_clips: int | None = 200,
    progress: bool = False,
    split: str = "test",
) -> dict[str, float]:
    model = model.eval()
    if meta["task"] == "kws":
        return _kws(model, meta, Path(manifest), target_fa_per_hour, max_clips, progress, split)
    return _asr(model, task, Path(manifest), max_clips, split)


def guard_split(manifest: str | Path, task: str, wake_phrase: str | None = None) -> str:
    """``"dev"`` when the central corpus has dev clips to score ``task`` on (wake word: clips of
    ``wake_phrase``), else ``"test"``."""
    kind = "wake" if task == "kws" else "request"
    has_dev = any(
        u.split == "dev" and u.kind == kind and (kind != "wake" or u.text == wake_phrase)
        for u in read_manifest(manifest)
    )
    return "dev" if has_dev else "test"


def spread(items: list, n: int | None) -> list:
    """At most ``n`` of ``items``, evenly spaced from first to last (all when ``n`` is None).

    The manifest lists clips device by device; a stride that stops after ``n`` would drop the
    last devices (and with them whole voices) whenever ``n`` is close to the count."""
    if n is None or len(items) <= n:
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]


def _kws(
    model, meta, manifest: Path, target: float, max_clips, progress, split: str
) -> dict[str, float]:
    from speech.data.features import FeatureConfig
    from speech.kws.data import load_positive
    from speech.kws.evaluate import calibrate_threshold
    from speech.kws.stream import clip_scores

    utts = read_manifest(manifest)
    streams = [audio_path(manifest, u) for u in utts if u.kind == "stream" and u.split == "test"]
    phrase = meta["extra"]["wake_phrase"]
    positives = [u for u in utts if u.kind == "wake" and u.text == phrase and u.split == split]
    positives = spread(positives, max_clips)
    stored = float(meta["extra"]["threshold"])
    cal = calibrate_threshold(
        model, meta, streams, target_fa_per_hour=target, progress=progress, fa_at=stored
    )
    frontend = FeatureConfig.from_dict(meta["features"]).build()
    smoothing = meta["extra"]["smoothing"]
    scores = np.array(
        [
            float(clip_scores(model, frontend, load_positive(manifest, u), smoothing).max())
            for u in positives
        ]
    )
    return {
        "threshold_at_target": cal["threshold"],
        "stream_hours": cal["hours"],
        "fa_per_hour_at_stored": cal["fa_per_hour_at"],
        "frr_at_target": float(np.mean(scores < cal["threshold"])),
        "frr_at_stored": float(np.mean(scores < stored)),
        "positives": len(scores),
    }


def _asr(model, task, manifest: Path, max_clips, split: str) -> dict[str, float]:
    from federated.local import greedy_word_errors
    from speech.data.dataset import ManifestDataset, make_loader

    data = ManifestDataset(manifest, split=split, kinds=("request",), tokenize=task.vocab.encode)
    data.utterances = spread(data.utterances, max_clips)
    loader = make_loader(data, max_batch_seconds=60.0, shuffle=False, seed=0)
    errors, words = greedy_word_errors(model, task, loader)
    return {"wer": errors / max(1, words), "requests": len(data)}
