"""The wake-word task for the shared training loop: data, loss, validation, checkpoint metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from speech.checkpoint import construct
from speech.data.dataset import Batch, make_loader
from speech.data.features import FeatureConfig, SpecAugment, fit_input_normalisation, mel_warp
from speech.kws.data import TARGET, KWSClips, check_target, frame_targets
from speech.kws.model import KWSModel
from speech.kws.stream import smooth


class KWSTask:
    """Frame-level wake-word training on a corpus manifest.

    Args:
        manifest: corpus ``manifest.jsonl``.
        model: the model config: ``_target_`` (a :class:`KWSModel` class path; the default when
            absent) and its constructor arguments (``n_mels`` comes from ``features``).
        wake_phrase: positives are clips whose text is exactly this.
        features: :class:`FeatureConfig` fields.
        max_seconds: crop length of training clips.
        batch_seconds: audio per batch (bucketed).
        pos_weight: weight of positive frames in the loss.
        negative_max_weight: weight of the loss on each negative clip's highest frame.
        mel_warp: training-time mel-axis stretch, uniform in [1 - mel_warp, 1 + mel_warp].
        clip_prob: share of training clips that are overdriven and hard-clipped (gain raised
            by 6-24 dB, samples limited to [-1, 1]), so the wake word still fires when a
            loud talker saturates the microphone (0 = off).
        train_splits: corpus splits to train on; ``[train, dev]`` for a final fit whose epoch
            count was chosen on dev (dev is then still reported, but no longer held out).
        variants: wake clips per voice (and as many confusables and ordinary sentences)
            rendered with fresh prosody and extra voices by :mod:`speech.kws.variants`, built
            next to the corpus on first use (0 = off). ``train_splits`` applies to them too; validation stays on the
            corpus's own dev clips.
        variant_accents: add twelve espeak-ng voices with other accents of English to the
            variants (on "hey nova": lower mean and spread of held-out FRR over seeds).
        target_window: frames whose window ends within (start, stop) seconds of the phrase
            end are positive. A start after the end (e.g. 0.12) makes the model wait until it
            has heard that the phrase is over, so "hey novak" can be told from "hey nova";
            detections then come that much later.
        smoothing: posterior smoothing window (frames) used for clip scores.
        target_false_alarm_rate: dev operating point, as a share of negative dev clips.
    """

    def __init__(
        self,
        manifest: str | os.PathLike,
        *,
        model: dict[str, Any],
        wake_phrase: str = "hey nova",
        features: dict[str, Any] | None = None,
        max_seconds: float = 2.0,
        batch_seconds: float = 120.0,
        pos_weight: float = 2.0,
        negative_max_weight: float = 1.0,
        mel_warp: float = 0.12,
        clip_prob: float = 0.0,
        train_splits: tuple[str, ...] | list[str] = ("train",),
        variants: int = 0,
        variant_accents: bool = True,
        target_window: tuple[float, float] | list[float] = TARGET,
        smoothing: int = 5,
        target_false_alarm_rate: float = 0.005,
        spec_augment: dict[str, Any] | None = None,
        seed: int = 0,
        name: str = "kws",
    ):
        self.name = name
        self.manifest = Path(manifest)
        self.model_target = model.get("_target_", f"{KWSModel.__module__}.KWSModel")
        self.model_args = {k: v for k, v in model.items() if k != "_target_"}
        self.wake_phrase = wake_phrase
        self.features = FeatureConfig(**(features or {}))
        self.max_seconds, self.batch_seconds = max_seconds, batch_seconds
        self.pos_weight, self.smoothing = pos_weight, smoothing
        self.negative_max_weight = negative_max_weight
        self.mel_warp = mel_warp
        if not 0.0 <= clip_prob <= 1.0:
            raise ValueError(f"task.clip_prob={clip_prob}: needs 0 <= clip_prob <= 1")
        self.clip_prob = clip_prob
        self.train_splits = tuple(train_splits)
        if variants < 0:
            raise ValueError("variants must be >= 0")
        self.variants = variants
        self.variant_accents = bool(variant_accents)
        self.target_window = check_target(target_window)
        self.target_far = target_false_alarm_rate
        self.spec_augment = SpecAugment(**(spec_augment or {}))
        self.seed = seed
        self.frontend = self.features.build()

    # --- model and data -------------------------------------------------------------------
    def build_model(self) -> KWSModel:
        args = {**self.model_args, "n_mels": self.features.n_mels}
        if "dilations" in args:
            args["dilations"] = list(args["dilations"])
        model = construct(
            self.model_target,
            args,
            kind=KWSModel,
            wrong_kind=f"task=kws trains a {KWSModel.__module__}.KWSModel, but the model config "
            f"builds {self.model_target}; pick a wake-word preset (model=kws_small or kws_large)",
        )
        self.model_args = args
        return model

    def datasets(self) -> tuple[KWSClips, KWSClips]:
        kw = {
            "wake_phrase": self.wake_phrase,
            "max_seconds": self.max_seconds,
            "seed": self.seed,
            "target": self.target_window,
        }
        manifests = [self.manifest]
        if self.variants:
            from speech.kws.variants import build_variants

            manifests.append(
                build_variants(
                    self.manifest.parent,
                    per_voice=self.variants,
                    seed=self.seed,
                    accents=self.variant_accents,
                )
            )
        return (
            KWSClips(
                manifests,
                split=self.train_splits,
                train=True,
                **kw,
            ),
            KWSClips(self.manifest, split="dev", train=False, **kw),
        )

    def loaders(self, *, ddp: bool, num_workers: int):
        train, dev = self.datasets()
        kw = {
            "max_batch_seconds": self.batch_seconds,
            "seed": self.seed,
            "num_workers": num_workers,
        }
        return (
            make_loader(train, shuffle=True, ddp=ddp, **kw),
            make_loader(dev, shuffle=False, ddp=False, **kw),
        )

    def init_model(self, model: KWSModel, loader, batches: int = 20) -> None:
        """Set the input normalisation from training features."""
        fit_input_normalisation(model, self.frontend, loader, batches)

    # --- one step -------------------------------------------------------------------------
    def _overdrive(self, waves: torch.Tensor) -> torch.Tensor:
        """Hard-clip a random ``clip_prob`` share of the clips after 6-24 dB of extra gain."""
        pick = torch.rand(waves.shape[0], device=waves.device) < self.clip_prob
        if not bool(pick.any()):
            return waves
        gain = 10 ** ((6 + 18 * torch.rand(waves.shape[0], 1, device=waves.device)) / 20)
        peak = waves.abs().amax(1, keepdim=True).clamp(min=1e-4)
        driven = (waves / peak * gain).clamp(-1.0, 1.0)  # from full scale: clipping for sure
        return torch.where(pick[:, None], driven, waves)

    def _logits(self, model: nn.Module, batch: Batch, train: bool):
        waves = self._overdrive(batch.waves) if train and self.clip_prob > 0 else batch.waves
        feats = self.frontend(waves)
        n = self.frontend.lengths_to_frames(batch.wave_lengths)
        if train:
            if self.mel_warp > 0:  # unseen voices: perturb the vocal tract length
                factors = (
                    1 + (torch.rand(feats.shape[0], device=feats.device) * 2 - 1) * self.mel_warp
                )
                feats = mel_warp(feats, factors)
            self.spec_augment.train()
            feats = self.spec_augment(feats, n)
        targets, mask = frame_targets(
            batch.labels,
            batch.wave_lengths,
            feats.shape[1],
            hop=self.frontend.hop_length,
            window=self.frontend.n_fft,
            target=self.target_window,
        )
        return model(feats), targets, mask

    def loss(
        self, model: nn.Module, batch: Batch, *, per_sample: bool = False
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Weighted frame cross-entropy plus a hard-negative term.

        ``per_sample``: each clip's frame loss is normalised by its own weight and the batch
        loss is the mean over clips, so no example's gradient depends on another's (DP-SGD).
        Otherwise frames are pooled over the batch (the recipe the shipped model used).
        """
        self.frontend.to(batch.waves.device)
        logits, targets, mask = self._logits(model, batch, train=True)
        logits = logits.float()
        weight = mask.float() * (1 + (self.pos_weight - 1) * targets)
        frames = F.binary_cross_entropy_with_logits(
            logits, targets, weight=weight, reduction="none"
        )
        if per_sample:
            loss = (frames.sum(1) / weight.sum(1).clamp(min=1)).mean()
        else:
            loss = frames.sum() / weight.sum().clamp(min=1)
        # Hard-negative term: a clip without the phrase must stay low at its *highest* frame,
        # the one that would wake the device; the frame average alone lets confusables
        # ("hey nora") fire at their end while the mean loss looks fine.
        neg = batch.labels < 0
        if self.negative_max_weight > 0 and bool(neg.any()):
            peak = logits.masked_fill(~mask, -1e4).amax(1)
            hard = F.binary_cross_entropy_with_logits(
                peak, torch.zeros_like(peak), reduction="none"
            )
            if per_sample:  # mean over the batch, each negative clip's own term
                loss = loss + self.negative_max_weight * (hard * neg).sum() / len(batch.ids)
            else:
                loss = loss + self.negative_max_weight * hard[neg].mean()
        return loss, {}

    @torch.no_grad()
    def clip_scores(self, model: nn.Module, batch: Batch) -> np.ndarray:
        """Max smoothed posterior over each clip's valid frames. -> (B,)."""
        self.frontend.to(batch.waves.device)
        feats = self.frontend(batch.waves)
        n = self.frontend.lengths_to_frames(batch.wave_lengths)
        post = smooth(torch.sigmoid(model(feats).float()), self.smoothing)
        valid = torch.arange(post.shape[1], device=post.device)[None] < n[:, None]
        return post.masked_fill(~valid, 0).amax(1).cpu().numpy()

    def validate(self, model: nn.Module, loader, device) -> dict[str, float]:
        """Dev false-reject rate at the threshold giving ``target_false_alarm_rate`` on negatives."""
        pos, neg = [], []
        for batch in loader:
            batch = batch.to(device)
            scores = self.clip_scores(model, batch)
            labels = batch.labels.cpu().numpy()
            pos += list(scores[labels >= 0])
            neg += list(scores[labels < 0])
        pos, neg = np.array(pos), np.array(neg)
        threshold = float(np.quantile(neg, 1 - self.target_far)) if len(neg) else 0.5
        frr = float(np.mean(pos < threshold)) if len(pos) else 1.0
        return {
            "score": 1 - frr,
            "frr": frr,
            "threshold": threshold,
            "positives": len(pos),
            "negatives": len(neg),
        }

    def checkpoint_meta(self, metrics: dict[str, float]) -> dict[str, Any]:
        return {
            "task": "kws",
            "model_args": self.model_args,
            "features": self.features.asdict(),
            "vocab": None,
            "extra": {
                "wake_phrase": self.wake_phrase,
                "threshold": metrics.get("threshold", 0.5),
                "smoothing": self.smoothing,
                "refractory": 1.0,
                "target_window": list(self.target_window),
            },
        }
