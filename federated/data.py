"""The federated population: one device = one speaker in one home, with its own clips.

Every clip of a corpus names its ``device`` (the corpus plan deals speakers to homes). A
device keeps its clips on the device and splits them by a stable hash of the clip id into
*local train* (what federated rounds train on), *local test* (what federated evaluation
reports) and, when a run selects its best round, *local validation* (taken from the train part,
so that the test part stays the same clips whatever the run). Nothing here moves audio anywhere: a client reads its own device's files only.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from speech.data.manifest import Utterance, read_manifest

TASK_KINDS = {"kws": ("wake", "negative", "request"), "asr": ("request",)}
EMPTY_PREFIX = "empty"


PARTS = ("train", "val", "test")


def local_part(clip_id: str, test_share: float, seed: int = 0, val_share: float = 0.0) -> str:
    """``"train"``, ``"val"`` or ``"test"``: a stable coin flip per clip id.

    The test part is the first ``test_share`` of the hash range whatever ``val_share`` is, so
    runs with and without a validation part are scored on the same clips."""
    h = int(hashlib.sha1(f"{seed}/{clip_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    if h < test_share:
        return "test"
    return "val" if h < test_share + val_share else "train"


@lru_cache(maxsize=4)
def _by_device(manifest: str, kinds: tuple[str, ...]) -> dict[str, tuple[Utterance, ...]]:
    out: dict[str, list[Utterance]] = {}
    for u in read_manifest(manifest):
        if u.kind in kinds and u.device:
            out.setdefault(u.device, []).append(u)
    return {d: tuple(sorted(us, key=lambda u: u.id)) for d, us in sorted(out.items())}


def population(
    manifest: str | os.PathLike,
    task: str,
    *,
    max_devices: int | None = None,
    empty_devices: int = 0,
) -> list[str]:
    """Device ids in a stable order: the corpus's devices holding clips for ``task``, the
    first ``max_devices`` of them, then ``empty_devices`` devices with no clips at all."""
    if task not in TASK_KINDS:
        raise ValueError(f"task {task!r}: federated training supports {sorted(TASK_KINDS)}")
    devices = list(_by_device(str(Path(manifest)), TASK_KINDS[task]))
    if not devices:
        raise ValueError(f"{manifest}: no device holds {task} clips ({TASK_KINDS[task]})")
    if max_devices is not None:
        devices = devices[:max_devices]
    return devices + [f"{EMPTY_PREFIX}{i:03d}" for i in range(empty_devices)]


def device_clips(
    manifest: str | os.PathLike,
    task: str,
    device: str,
    part: str,
    *,
    test_share: float,
    seed: int = 0,
    val_share: float = 0.0,
) -> list[Utterance]:
    """One device's local ``part`` (train, val or test) for ``task``; empty for an empty
    device."""
    if part not in PARTS:
        raise ValueError(f"part {part!r}: must be one of {', '.join(PARTS)}")
    clips = _by_device(str(Path(manifest)), TASK_KINDS[task]).get(device, ())
    return [u for u in clips if local_part(u.id, test_share, seed, val_share) == part]
