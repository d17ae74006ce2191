"""What a device does in a round, with no Flower in sight: train on its own clips, test on them.

The client app (:mod:`federated.client_app`) unpacks a message into a :class:`Setup` and the
global weights, and calls :func:`train_round` or :func:`evaluate_local`. Training goes through
the project's one training core, :func:`speech.train.train_epoch`, with the task plug-in's own
loss; under local DP, Opacus wraps the model, optimizer and loader and the core runs unchanged.
"""

from __future__ import annotations

import copy
import json
import math
import random
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from federated.accounting import Release, epsilon, local_round
from federated.data import device_clips
from federated.labels import LabelCounts, pseudo_label, read_corrections
from speech.checkpoint import build_model, read_checkpoint
from speech.data.dataset import collate, make_loader
from speech.train import train_epoch


@dataclass
class Setup:
    """Everything a device needs besides the weights; the server sends it with every round.

    ``task``: the task config (``_target_`` and options), ``checkpoint``: the centrally
    trained file every device already holds (for the model's shape and features),
    ``privacy``: local DP settings (``noise``, ``max_grad_norm``, ``batch_size``, ``delta``,
    ``max_epsilon``, ``mode``), ``faults``: injected fault probabilities, ``labels``,
    ``teacher``, ``teacher_min_confidence``, ``corrections``: where the recognizer's local
    training transcripts come from (:mod:`federated.labels`).
    """

    task: dict[str, Any]
    manifest: str
    checkpoint: str
    test_share: float = 0.34
    val_share: float = 0.0  # taken from the train part, for choosing the best round
    max_devices: int | None = None
    empty_devices: int = 0
    extra_manifest: str | None = None  # planted canaries (federated.audit): extra training clips
    trainable: list[str] | None = None  # parameter-name prefixes trained and exchanged (None: all)
    negatives: str = "labelled"  # wake word: labelled | false_wakes | none (FederatedConfig)
    false_wake_threshold: float = 0.5
    labels: str = "truth"  # recognizer: truth | teacher (federated.labels)
    teacher: str = "tiny.en"
    teacher_min_confidence: float = 0.6
    corrections: str | None = None  # a review export, read on the device
    replay_manifest: str | None = None  # public clips shipped with the model (the central corpus)
    replay_clips: int = 0  # of them, trained on beside the device's own clips each round
    seed: int = 0
    local_lr: float = 0.05
    local_epochs: int = 1
    local_batch_size: int = 8
    privacy: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Setup:
        return cls(**json.loads(text))

    @property
    def task_name(self) -> str:
        return self.task.get("name", "kws")


@lru_cache(maxsize=2)
def _meta(checkpoint: str) -> dict[str, Any]:
    payload = read_checkpoint(checkpoint)
    return {k: v for k, v in payload.items() if k != "state_dict"}


def build_task(setup: Setup):
    """The task plug-in for ``setup``, shaped like its checkpoint (model and features)."""
    from hydra.utils import get_class

    meta = _meta(setup.checkpoint)
    args = {k: v for k, v in setup.task.items() if k not in ("_target_",)}
    if meta.get("features"):
        args["features"] = meta["features"]
    model = {"_target_": meta["model_class"], **meta["model_args"]}
    args.pop("variants", None)  # a device has its own clips only
    return get_class(setup.task["_target_"])(manifest=setup.manifest, model=model, **args)


def new_model(setup: Setup, state: dict[str, torch.Tensor] | None = None) -> torch.nn.Module:
    """The checkpoint's model (float32) with ``state`` (all or some of its arrays) laid over."""
    payload = read_checkpoint(setup.checkpoint)
    model = build_model(payload).float()
    if state is not None:
        unknown = set(state) - set(model.state_dict())
        if unknown:
            raise ValueError(f"arrays the model does not have: {sorted(unknown)[:5]}")
        model.load_state_dict(state, strict=False)
    return model


def exchanged(model: torch.nn.Module, trainable: list[str] | None) -> list[str]:
    """Names of the arrays a round trains and exchanges, in the model's order.

    The model's parameters, never its buffers: the input normalisation is not trained, and DP
    noise added to it would shift every feature. With ``trainable``, only parameters named by
    one of those prefixes (``head``, ``blocks.7``): fewer dimensions carry less noise under
    user-level DP, whose noise norm grows with the square root of the dimension.
    """
    names = [n for n, _ in model.named_parameters()]
    if trainable:
        names = [n for n in names if any(n == t or n.startswith(t + ".") for t in trainable)]
        if not names:
            every = [n for n, _ in model.named_parameters()]
            raise ValueError(
                f"federated.trainable={list(trainable)} names no parameter of the model "
                f"(its names: {', '.join(every[:3])}, ..., {every[-1]})"
            )
    return names


def split_clips(setup: Setup, device: str, part: str) -> list:
    """The device's local ``part`` as the corpus has it, split the way ``setup`` splits."""
    return device_clips(
        setup.manifest,
        setup.task_name,
        device,
        part,
        test_share=setup.test_share,
        seed=setup.seed,
        val_share=setup.val_share,
    )


def local_clips(setup: Setup, device: str, part: str) -> tuple[list, LabelCounts | None]:
    """The device's local ``part`` clips with the transcripts it trains on, and (pseudo-labels
    only) what labelling did. The test part always keeps the corpus's text: it measures."""
    clips = split_clips(setup, device, part)
    if part != "train" or setup.labels != "teacher" or setup.task_name != "asr" or not clips:
        return clips, None
    return pseudo_label(
        clips,
        setup.manifest,
        device,
        teacher=setup.teacher,
        min_confidence=setup.teacher_min_confidence,
        corrections=read_corrections(setup.corrections) if setup.corrections else None,
    )


def _dataset(task, setup: Setup, device: str, part: str):
    """The device's local ``part`` as the task's own dataset class (empty: None)."""
    clips, _ = local_clips(setup, device, part)
    canaries = part == "train" and setup.extra_manifest and setup.task_name == "asr"
    if not clips and not canaries:
        return None
    ids = {u.id for u in clips}
    if setup.task_name == "kws":
        from speech.kws.data import KWSClips

        ds = KWSClips(
            setup.manifest,
            split=("train", "dev", "test"),
            wake_phrase=task.wake_phrase,
            max_seconds=task.max_seconds,
            train=part == "train",
            seed=setup.seed,
            speakers={u.speaker for u in clips},
            target=task.target_window,
        )
        keep = [i for i, u in enumerate(ds.utts) if u.id in ids]
        ds.utts = [ds.utts[i] for i in keep]
        ds.paths = [ds.paths[i] for i in keep]
        return ds
    from speech.data.dataset import ManifestDataset

    ds = ManifestDataset(
        setup.manifest,
        kinds=("request",),
        speakers={u.speaker for u in clips} or None,
        tokenize=task.vocab.encode,
    )
    # The clips as labelled (pseudo-labels replace the text and drop the word times; the
    # recognizer's loss reads word times only from task._words, which a device never fills),
    # in the manifest's order.
    mine = {u.id: u for u in clips}
    ds.utterances = [mine[u.id] for u in ds.utterances if u.id in ids]
    if canaries:
        # Planted canaries (federated.audit) keep their planted text: the audit measures
        # memorisation of a known label, whatever labels the device's own clips have.
        extra = ManifestDataset(setup.extra_manifest, tokenize=task.vocab.encode)
        extra.utterances = [u for u in extra.utterances if u.device == device]
        if extra.utterances:
            return _Joined([ds, extra]) if ds.utterances else extra
    return ds if ds.utterances else None


class _Joined(torch.utils.data.ConcatDataset):
    """Datasets read as one (each keeps its own manifest for audio paths)."""

    @property
    def durations(self) -> list[float]:
        return [d for ds in self.datasets for d in ds.durations]

    @property
    def epoch(self) -> int:
        return getattr(self.datasets[0], "epoch", 0)

    @epoch.setter
    def epoch(self, value: int) -> None:  # the training loop's epoch reaches every part
        for ds in self.datasets:
            if hasattr(ds, "epoch"):
                ds.epoch = value


@lru_cache(maxsize=2)
def _replay_pool(manifest: str, task_name: str, wake_phrase: str, max_seconds: float, target):
    """The whole public pool as the task's dataset, read once per process (a device trains
    every round it is sampled, and its task object is built afresh each time)."""
    if task_name == "kws":
        from speech.kws.data import KWSClips

        return KWSClips(
            manifest,
            split="train",
            wake_phrase=wake_phrase,
            max_seconds=max_seconds,
            train=True,
            target=target,
        )
    from speech.data.dataset import ManifestDataset

    return ManifestDataset(manifest, split="train", kinds=("request",))


def _replay(task, setup: Setup, round_seed: int):
    """``replay_clips`` public clips (the central corpus's train split, which the starting
    model was trained on and every device can hold: synthetic speech, nobody's data), drawn
    afresh each round. Training on them beside its own clips keeps a device's update from
    forgetting the voices and rooms it has none of (rehearsal)."""
    if not setup.replay_clips or not setup.replay_manifest:
        return None
    kws = setup.task_name == "kws"
    pool = _replay_pool(
        setup.replay_manifest,
        setup.task_name,
        task.wake_phrase if kws else "",
        task.max_seconds if kws else 0.0,
        tuple(task.target_window) if kws else (),
    )
    ds = copy.copy(pool)  # the pool itself stays whole
    rng = random.Random(round_seed)
    if kws:
        pick = rng.sample(range(len(ds)), min(setup.replay_clips, len(ds)))
        ds.utts = [ds.utts[i] for i in pick]
        ds.paths = [ds.paths[i] for i in pick]
        ds.seed = round_seed
        return ds
    ds.utterances = rng.sample(ds.utterances, min(setup.replay_clips, len(ds.utterances)))
    ds.tokenize = task.vocab.encode
    return ds


def _collate_or_none(examples):
    return collate(examples) if examples else None


@dataclass
class RoundResult:
    """What a device reports after training (never its clips)."""

    state: dict[str, torch.Tensor] | None
    clips: int
    steps: int
    loss: float
    seconds: float
    status: str = "trained"  # trained | no_data | budget_exhausted
    release: Release | None = None  # this round's local DP release (local_dp only)
    local_epsilon: float = 0.0  # the device's cumulative epsilon after this round


def train_round(
    setup: Setup,
    device: str,
    state: dict[str, torch.Tensor],
    history: list[Release],
    *,
    round_seed: int = 0,
) -> RoundResult:
    """Train the global weights on the device's local train clips for ``local_epochs``.

    ``history``: the device's earlier local-DP releases (its accountant state, which the
    device keeps across rounds). Under local DP the device refuses to train when this round
    would take it past ``max_epsilon``.
    """
    task = build_task(setup)
    data = _dataset(task, setup, device, "train")
    if data is None:
        return RoundResult(None, 0, 0, math.nan, 0.0, status="no_data")
    torch.manual_seed(round_seed)
    model = new_model(setup, state)
    data = local_negatives(model, task, setup, data)
    if data is None:
        return RoundResult(None, 0, 0, math.nan, 0.0, status="no_data")
    own = len(data)  # FedAvg weighs by the device's own clips, never the public ones
    replay = None if setup.privacy.get("local_dp") else _replay(task, setup, round_seed)
    if replay is not None:
        data = _Joined([data, replay])
    model.train()
    names = exchanged(model, setup.trainable)
    for n, param in model.named_parameters():
        param.requires_grad_(n in names)
    optimizer = torch.optim.SGD(
        [q for q in model.parameters() if q.requires_grad], lr=setup.local_lr
    )
    p = setup.privacy
    if p.get("local_dp"):
        from opacus import PrivacyEngine

        release = local_round(p["noise"], p["batch_size"], len(data), setup.local_epochs)
        after = epsilon([*history, release], p["delta"])
        if p.get("max_epsilon") is not None and after > p["max_epsilon"]:
            before = epsilon(history, p["delta"])
            return RoundResult(None, 0, 0, math.nan, 0.0, "budget_exhausted", None, before)
        loader = torch.utils.data.DataLoader(
            data, batch_size=p["batch_size"], collate_fn=collate, shuffle=True
        )
        engine = PrivacyEngine(accountant="rdp", secure_mode=False)
        dp_model, dp_opt, dp_loader = engine.make_private(
            module=model,
            optimizer=optimizer,
            data_loader=loader,
            noise_multiplier=p["noise"],
            max_grad_norm=p["max_grad_norm"],
            poisson_sampling=True,
            grad_sample_mode=p.get("grad_sample_mode", "hooks"),
        )
        # Opacus rebuilds an empty Poisson draw from the first batch's structure, which fails on
        # our batches (clip ids are strings): an empty draw is simply no step here. The
        # accountant still counts it, so the reported epsilon errs on the safe side.
        dp_loader.collate_fn = _collate_or_none
        total = steps = clips = 0
        seconds = 0.0
        for e in range(setup.local_epochs):
            r = train_epoch(dp_model, task, dp_opt, dp_loader, epoch=e, per_sample=True)
            total += r.loss * r.steps
            steps, clips, seconds = steps + r.steps, clips + r.clips, seconds + r.seconds
        weights = {k: v.detach().clone() for k, v in model.state_dict().items() if k in names}
        # Opacus counted its own steps; the ledger records the release as planned (the same
        # count: one Poisson draw per step, empty draws included).
        return RoundResult(
            weights,
            len(data),
            steps,
            total / max(steps, 1),
            seconds,
            "trained",
            release,
            after,
        )
    loader = make_loader(
        data,
        max_batch_seconds=setup.local_batch_size * task.max_seconds
        if setup.task_name == "kws"
        else setup.local_batch_size * 6.0,
        shuffle=True,
        seed=round_seed,
    )
    total = steps = clips = 0
    seconds = 0.0
    for e in range(setup.local_epochs):
        r = train_epoch(model, task, optimizer, loader, epoch=e, grad_clip=5.0)
        total += r.loss * r.steps
        steps, clips, seconds = steps + r.steps, clips + r.clips, seconds + r.seconds
    weights = {k: v.detach().clone() for k, v in model.state_dict().items() if k in names}
    return RoundResult(weights, own, steps, total / max(steps, 1), seconds)


@torch.no_grad()
def evaluate_local(
    setup: Setup,
    device: str,
    state: dict[str, torch.Tensor],
    thresholds: list[float],
    part: str = "test",
) -> dict[str, float]:
    """The global model on the device's local ``part`` clips (test, or val when the server
    chooses its best round): counts only, never the clips.

    Wake word: positives and negatives, and how many of each fall below / reach each of
    ``thresholds`` (``rejected_<i>``, ``accepted_<i>``). Recognizer: word errors and words.
    """
    task = build_task(setup)
    data = _dataset(task, setup, device, part)
    if data is None:
        return {"clips": 0}
    model = new_model(setup, state).eval()
    loader = make_loader(data, max_batch_seconds=60.0, shuffle=False, seed=0)
    if setup.task_name == "kws":
        pos, neg = [], []
        for batch in loader:
            scores = task.clip_scores(model, batch)
            labels = batch.labels.numpy()
            pos += list(scores[labels >= 0])
            neg += list(scores[labels < 0])
        out: dict[str, float] = {"clips": len(data), "positives": len(pos), "negatives": len(neg)}
        for i, t in enumerate(thresholds):
            out[f"rejected_{i}"] = int(np.sum(np.array(pos) < t))
            out[f"accepted_{i}"] = int(np.sum(np.array(neg) >= t))
        return out
    errors, words = greedy_word_errors(model, task, loader)
    return {"clips": len(data), "word_errors": errors, "words": words}


@torch.no_grad()
def false_wakes(model, task, data, threshold: float) -> list[int]:
    """Indices of ``data``'s non-wake clips on which ``model`` wakes (peak score at or above
    ``threshold``): on a device, wakes that the recognizer then found empty or the user
    cancelled. They never leave the device."""
    was_training, crops = model.training, data.train
    model.eval()
    data.train = False  # the clip as the device heard it, not a training crop
    try:
        negatives = [i for i, u in enumerate(data.utts) if not data.is_positive(u)]
        subset = torch.utils.data.Subset(data, negatives)
        subset.durations = [data.durations[i] for i in negatives]
        loader = make_loader(subset, max_batch_seconds=60.0, shuffle=False, seed=0)
        scores = np.concatenate([task.clip_scores(model, b) for b in loader]) if negatives else []
        return [i for i, s in zip(negatives, scores, strict=True) if s >= threshold]
    finally:
        model.train(was_training)
        data.train = crops


def local_negatives(model, task, setup: Setup, data):
    """The wake word's local training clips under ``setup.negatives``: every positive, and of
    the non-wake clips all (``labelled``), only the global model's false wakes
    (``false_wakes``: the negatives a device in the field actually has), or none. None when
    nothing is left."""
    if setup.task_name != "kws" or setup.negatives == "labelled":
        return data
    wakes = set()
    if setup.negatives == "false_wakes":
        wakes = set(false_wakes(model, task, data, setup.false_wake_threshold))
    keep = [i for i, u in enumerate(data.utts) if data.is_positive(u) or i in wakes]
    data.utts = [data.utts[i] for i in keep]
    data.paths = [data.paths[i] for i in keep]
    return data if keep else None


@torch.no_grad()
def greedy_word_errors(model, task, loader) -> tuple[int, int]:
    """(word errors, reference words) of greedy CTC decoding over ``loader``."""
    from speech.asr.decode import greedy
    from speech.data.align import word_errors

    errors = words = 0
    for batch in loader:
        log_probs, out_len = task.forward(model, batch, train=False)
        for b in range(len(batch.ids)):
            ref = task.vocab.decode(batch.targets[b, : int(batch.target_lengths[b])].tolist())
            hyp = greedy(log_probs[b, : int(out_len[b])], task.vocab)
            errors += word_errors(ref.split(), hyp.split())
            words += len(ref.split())
    return errors, words
