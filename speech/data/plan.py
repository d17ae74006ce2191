"""The corpus recipe: its spec, speaker splits, devices and the work list.

Planning is pure and cheap: it decides *what* every clip will be (speaker, device,
text seed, kind) before anything is synthesized, so a build can be split into
shards, resumed after a crash, and regenerated clip by clip.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass, field

from speech.data.augment import NOISE_KINDS
from speech.data.voices import Voice


@dataclass
class CorpusSpec:
    """Everything that determines a corpus; its hash names the output folder.

    Counts are totals over all devices. ``voices`` names catalogue entries
    (None = the whole catalogue); families in ``dev_families``/``test_families`` are held
    out whole, every other family is train. ``engine_devices`` reserves devices for the
    voices of an engine (``{kokoro: 2}``): a slow engine's fixed share of the build.
    """

    name: str = "default"
    seed: int = 0
    wake_phrase: str = "hey nova"
    confusables: list[str] = field(
        default_factory=lambda: [
            "hey nora",
            "hey now",
            "nova",
            "a nova",
            "hey noah",
            "hey over",
            "hey novak",
            "casanova",
            "hey you",
            "okay",
            "bossa nova",
            "hey nolan",
            "hey mona",
            "say nova",
            "hey no way",
        ]
    )
    voices: list[str] | None = None
    calibrate: bool = True
    min_accuracy_base: float = 0.5
    min_accuracy_altered: float = 0.75
    max_similarity: float = 0.8
    dev_families: list[str] = field(default_factory=lambda: ["flite-kal16"])
    test_families: list[str] = field(default_factory=lambda: ["flite-awb", "fest-ked"])
    n_devices: int = 50
    n_wake: int = 2000
    n_negative: int = 2000
    n_requests: int = 2800
    stream_hours: float = 1.0
    stream_chunk_seconds: float = 300.0
    stream_split: str = "test"
    rooms: int = 50
    room_positions: int = 4
    augment_prob: float = 0.8
    augment_test: bool = False
    snr_db: list[float] = field(default_factory=lambda: [0.0, 25.0])
    speeds: list[float] = field(default_factory=lambda: [0.9, 1.0, 1.1])
    shard_size: int = 40
    engine_devices: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.n_devices < 1:
            raise ValueError("n_devices must be at least 1")
        if any(n < 0 for n in self.engine_devices.values()):
            raise ValueError(f"engine_devices must not be negative: {self.engine_devices}")
        if sum(self.engine_devices.values()) > self.n_devices:
            raise ValueError(
                f"engine_devices {self.engine_devices} reserve more than the {self.n_devices} devices"
            )
        if set(self.dev_families) & set(self.test_families):
            raise ValueError(
                f"families both dev and test: {set(self.dev_families) & set(self.test_families)}"
            )
        if not 0 <= self.augment_prob <= 1:
            raise ValueError("augment_prob must be within [0, 1]")
        if self.stream_split not in ("train", "dev", "test"):
            raise ValueError(f"stream_split must be train, dev or test, not {self.stream_split!r}")

    def digest(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:8]


@dataclass
class Device:
    """One federated client: one speaker in one home (room, noise, household seed)."""

    id: str
    speaker: str
    split: str
    room: int
    noise: str
    snr_center: float
    seed: int


@dataclass
class Job:
    """A shard of work: ``n`` clips of one kind on one device, or one stream chunk."""

    key: str
    kind: str
    device: str
    n: int
    seed: int
    seconds: float = 0.0


def split_of(voice: Voice, spec: CorpusSpec) -> str:
    if voice.family in spec.test_families:
        return "test"
    if voice.family in spec.dev_families:
        return "dev"
    return "train"


def _splits_first(voices: list[Voice], spec: CorpusSpec) -> list[Voice]:
    """``voices`` with the first one of each split (test, dev, train) moved to the front."""
    first = []
    for split in ("test", "dev", "train"):
        first += [v for v in voices if split_of(v, spec) == split][:1]
    return first + [v for v in voices if v not in first]


def plan_devices(spec: CorpusSpec, speakers: list[Voice]) -> list[Device]:
    """Spread speakers over devices, round robin.

    The last devices are the ones ``engine_devices`` reserves for an engine, dealt to its
    voices in catalogue order, the first voice of each split first (two devices already give
    test and train one each). The others are dealt to the other voices in a seeded shuffle,
    each getting one when there are enough: they are planned as in a corpus without the
    reserved engines' voices, so adding those changes no other device.
    """
    rng = random.Random(spec.seed)
    engines = {v.engine for v in speakers}
    reserved = {e: n for e, n in spec.engine_devices.items() if e in engines}
    order = [v for v in speakers if v.engine not in reserved]
    rng.shuffle(order)
    free = spec.n_devices - sum(reserved.values())
    if free and not order:
        raise ValueError(
            f"{free} devices left for voices of engines other than {sorted(reserved)}, and none "
            "of those voices: add some, or reserve all the devices in engine_devices"
        )
    slots = [order[i % len(order)] for i in range(free)]
    for engine, n in reserved.items():
        own = _splits_first([v for v in speakers if v.engine == engine], spec)
        slots += [own[i % len(own)] for i in range(n)]
    lo, hi = spec.snr_db
    devices = []
    for i, voice in enumerate(slots):
        devices.append(
            Device(
                id=f"dev{i:04d}",
                speaker=voice.name,
                split=split_of(voice, spec),
                room=i % spec.rooms,
                noise=rng.choice(NOISE_KINDS),
                snr_center=rng.uniform(lo + 5, hi - 5) if hi - lo > 10 else (lo + hi) / 2,
                seed=rng.randrange(2**31),
            )
        )
    return devices


def _share(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (i < extra) for i in range(parts)]


def plan_jobs(spec: CorpusSpec, devices: list[Device]) -> list[Job]:
    """Shards of at most ``shard_size`` clips, plus stream chunks; keys are stable."""
    jobs = []
    for kind, total in (
        ("wake", spec.n_wake),
        ("negative", spec.n_negative),
        ("request", spec.n_requests),
    ):
        for dev, n in zip(devices, _share(total, len(devices)), strict=True):
            for chunk, start in enumerate(range(0, n, spec.shard_size)):
                size = min(spec.shard_size, n - start)
                seed = int(
                    hashlib.sha1(f"{spec.seed}/{dev.id}/{kind}/{chunk}".encode()).hexdigest()[:8],
                    16,
                )
                jobs.append(Job(f"{dev.id}-{kind}-{chunk:03d}", kind, dev.id, size, seed))
    stream_devices = [d for d in devices if d.split == spec.stream_split]
    remaining, i = spec.stream_hours * 3600, 0
    while remaining > 1 and stream_devices:
        seconds = min(spec.stream_chunk_seconds, remaining)
        dev = stream_devices[i % len(stream_devices)]
        jobs.append(Job(f"stream-{i:04d}", "stream", dev.id, 0, spec.seed * 7919 + i, seconds))
        remaining -= seconds
        i += 1
    return jobs
