"""The manifest contract: one JSON object a line, one utterance an object.

See ``DESIGN.md`` ("Manifest line"). ``audio`` is relative to the manifest file, so a
corpus folder can be moved or copied whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from speech.files import atomic_path

SPLITS = ("train", "dev", "test")
KINDS = ("wake", "negative", "command", "request", "stream")


@dataclass
class Word:
    """A word and its time span in seconds from the start of the clip."""

    w: str
    start: float
    end: float


@dataclass
class PiiSlot:
    """A PII value inside ``text``: words ``start_word`` .. ``end_word`` inclusive."""

    label: str
    start_word: int
    end_word: int
    value: str


@dataclass
class Utterance:
    """One manifest line.

    Attributes:
        id: unique within the corpus.
        audio: path of the WAV relative to the manifest.
        sample_rate: always 16000 in a built corpus.
        duration: seconds.
        text: lower-case spoken form, words separated by single spaces.
        words: word times, or empty when unknown.
        speaker: voice identity (a TTS voice, or an altered copy of one).
        device: federated client id (one speaker in one home).
        split: train, dev or test; speaker-disjoint.
        kind: wake, negative, command, request or stream.
        pii: PII slots, as word ranges over ``text``.
        synth: engine settings that produced the clean clip.
        augment: room/noise/speed settings applied, or None for a clean clip.
    """

    id: str
    audio: str
    duration: float
    text: str
    speaker: str
    device: str
    split: str
    kind: str
    sample_rate: int = 16000
    words: list[Word] = field(default_factory=list)
    pii: list[PiiSlot] = field(default_factory=list)
    synth: dict[str, Any] = field(default_factory=dict)
    augment: dict[str, Any] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Utterance:
        missing = {
            "id",
            "audio",
            "duration",
            "text",
            "speaker",
            "device",
            "split",
            "kind",
        } - d.keys()
        if missing:
            raise ValueError(f"manifest line {d.get('id', '?')!r} lacks {sorted(missing)}")
        d = dict(d)
        d["words"] = [Word(**w) for w in d.get("words") or []]
        d["pii"] = [PiiSlot(**p) for p in d.get("pii") or []]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


def read_manifest(path: str | os.PathLike) -> list[Utterance]:
    """Read a manifest; a malformed line raises with its line number."""
    return list(iter_manifest(path))


def iter_manifest(path: str | os.PathLike) -> Iterator[Utterance]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no manifest here; build one with `python -m speech.data.synth`"
        )
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield Utterance.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{n}: bad manifest line ({exc})") from exc


def write_manifest(path: str | os.PathLike, utterances: Iterable[Utterance]) -> int:
    """Write atomically; returns the number of lines."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for u in utterances:
            f.write(u.to_json() + "\n")
            n += 1
    return n


def audio_path(manifest: str | os.PathLike, utt: Utterance) -> Path:
    """Absolute path of an utterance's audio."""
    return Path(manifest).resolve().parent / utt.audio
