"""The wake-word task for the shared training loop: data, loss, validation, checkpoint metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from speech.asr.vocab import CharVocab
from speech.data.dataset import Batch, make_loader
from speech.data.features import FeatureConfig, SpecAugment, fit_input_normalisation, mel_warp
from speech.kws.data import TARGET, KWSClips, check_target, frame_targets
from speech.kws.model import KWSModel
from speech.kws.stream import smooth


class KWSTask:
    """Frame-level wake-word training on a corpus manifest.

    Args:
        manifest: corpus ``manifest.jsonl``.
        model: constructor arguments of :class:`KWSModel` (a ``_target_`` key is ignored).
        wake_phrase: positives are clips whose text is exactly this.
        features: :class:`FeatureConfig` fields.
        max_seconds: crop length of training clips.
        batch_seconds: audio per batch (bucketed).
        pos_weight: weight of positive frames in the loss.
        negative_max_weight: weight of the loss on each negative clip's highest frame.
        mel_warp: training-time mel-axis stretch, uniform in [1 - mel_warp, 1 + mel_warp].
        time_stretch: training-time tempo change of each batch's features, uniform in
            [1 - time_stretch, 1 + time_stretch] (0 = off); with ``mel_warp`` it imitates new
            speakers' speaking rate and vocal tract.
        train_splits: corpus splits to train on; ``[train, dev]`` for a final fit whose epoch
            count was chosen on dev (dev is then still reported, but no longer held out).
        variants: wake clips per voice (and as many confusables and ordinary sentences)
            rendered with fresh prosody and extra voices by :mod:`speech.kws.variants`, built
            next to the corpus on first use (0 = off). ``train_splits`` applies to them too; validation stays on the
            corpus's own dev clips.
        variant_accents: add twelve espeak-ng voices with other accents of English to the
            variants (on "hey nova": lower mean and spread of held-out FRR over seeds).
        variant_prosody: overrides of the variants' prosody ranges
            (:data:`speech.kws.variants.PROSODY`), e.g. ``{tempo: [0.9, 1.25]}``.
        variant_extra: ``{text: n}``, n more renderings per variant voice of each text, e.g.
            the confusables a model still takes for the phrase. Built as an add-on next to the
            variants (the same voices, prosody ranges and seed), so that build is reused.
        target_window: frames whose window ends within (start, stop) seconds of the phrase
            end are positive. A start after the end (e.g. 0.12) makes the model wait until it
            has heard that the phrase is over, so "hey novak" can be told from "hey nova";
            detections then come that much later.
        smoothing: posterior smoothing window (frames) used for clip scores.
        target_false_alarm_rate: dev operating point, as a share of negative dev clips.
        ctc_weight: weight of an auxiliary character CTC loss on every transcribed clip,
            through a training-only head (0 = off). The corpus has far more speech than
            wake phrases; spelling it teaches the network sounds rather than voices.
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
        time_stretch: float = 0.0,
        train_splits: tuple[str, ...] | list[str] = ("train",),
        variants: int = 0,
        variant_accents: bool = True,
        variant_prosody: dict[str, Any] | None = None,
        variant_extra: dict[str, int] | None = None,
        target_window: tuple[float, float] | list[float] = TARGET,
        smoothing: int = 5,
        target_false_alarm_rate: float = 0.005,
        spec_augment: dict[str, Any] | None = None,
        ctc_weight: float = 0.0,
        seed: int = 0,
        name: str = "kws",
    ):
        self.name = name
        self.manifest = Path(manifest)
        self.model_args = dict(model)
        self.wake_phrase = wake_phrase
        self.features = FeatureConfig(**(features or {}))
        self.max_seconds, self.batch_seconds = max_seconds, batch_seconds
        self.pos_weight, self.smoothing = pos_weight, smoothing
        self.negative_max_weight = negative_max_weight
        self.mel_warp = mel_warp
        self.time_stretch = time_stretch
        self.train_splits = tuple(train_splits)
        if variants < 0:
            raise ValueError("variants must be >= 0")
        self.variants = variants
        self.variant_accents = bool(variant_accents)
        from speech.kws.variants import check_extra, prosody_ranges

        self.variant_prosody = prosody_ranges(variant_prosody)  # checked now, not mid-build
        self.variant_extra = check_extra(variant_extra)
        if self.variant_extra and not variants:
            raise ValueError("variant_extra needs variants > 0 (it renders the variants' voices)")
        self.target_window = check_target(target_window)
        self.target_far = target_false_alarm_rate
        self.spec_augment = SpecAugment(**(spec_augment or {}))
        self.seed = seed
        self.frontend = self.features.build()
        if ctc_weight < 0:
            raise ValueError("ctc_weight must be >= 0")
        self.ctc_weight = ctc_weight
        self.vocab = CharVocab()

    # --- model and data -------------------------------------------------------------------
    def build_model(self) -> KWSModel:
        args = {k: v for k, v in self.model_args.items() if k != "_target_"}
        args["n_mels"] = self.features.n_mels
        args["dilations"] = list(args.get("dilations", KWSModel().config.dilations))
        args["ctc_vocab"] = len(self.vocab) if self.ctc_weight > 0 else 0
        self.model_args = args
        return KWSModel(**args)

    def datasets(self) -> tuple[KWSClips, KWSClips]:
        kw = {
            "wake_phrase": self.wake_phrase,
            "max_seconds": self.max_seconds,
            "seed": self.seed,
            "target": self.target_window,
        }
        tokenize = self.vocab.encode if self.ctc_weight > 0 else None
        manifests = [self.manifest]
        if self.variants:
            from speech.kws.variants import build_variants

            build = {
                "seed": self.seed,
                "accents": self.variant_accents,
                "prosody": self.variant_prosody,
            }
            corpus = self.manifest.parent
            manifests.append(build_variants(corpus, per_voice=self.variants, **build))
            if self.variant_extra:
                manifests.append(
                    build_variants(corpus, per_voice=0, extra=self.variant_extra, **build)
                )
        return (
            KWSClips(
                manifests,
                split=self.train_splits,
                train=True,
                tokenize=tokenize,
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
    def _logits(self, model: nn.Module, batch: Batch, train: bool):
        feats = self.frontend(batch.waves)
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
        if train and self.time_stretch > 0:  # one tempo per batch: features and targets alike
            rate = 1 + (2 * float(torch.rand(())) - 1) * self.time_stretch
            frames = max(1, round(feats.shape[1] * rate))
            n = (n.float() * frames / feats.shape[1]).round().long().clamp(1, frames)
            feats = F.interpolate(feats.transpose(1, 2), size=frames, mode="linear").transpose(1, 2)
            near = lambda x: F.interpolate(x[:, None].float(), size=frames, mode="nearest")[:, 0]  # noqa: E731
            targets, mask = near(targets), near(mask) > 0.5
        if train and self.ctc_weight > 0:
            logits, ctc = model(feats, with_ctc=True)
            return logits, targets, mask, (ctc, n)
        return model(feats), targets, mask, None

    def loss(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        self.frontend.to(batch.waves.device)
        logits, targets, mask, ctc = self._logits(model, batch, train=True)
        logits = logits.float()
        weight = mask.float() * (1 + (self.pos_weight - 1) * targets)
        frames = F.binary_cross_entropy_with_logits(logits, targets, weight=weight, reduction="sum")
        loss = frames / weight.sum().clamp(min=1)
        # Hard-negative term: a clip without the phrase must stay low at its *highest* frame,
        # the one that would wake the device; the frame average alone lets confusables
        # ("hey nora") fire at their end while the mean loss looks fine.
        neg = batch.labels < 0
        if self.negative_max_weight > 0 and bool(neg.any()):
            peak = logits.masked_fill(~mask, -1e4).amax(1)[neg]
            hard = F.binary_cross_entropy_with_logits(peak, torch.zeros_like(peak))
            loss = loss + self.negative_max_weight * hard
        if ctc is not None:
            spelled = F.ctc_loss(
                ctc[0].float().transpose(0, 1),
                batch.targets,
                ctc[1],
                batch.target_lengths,
                blank=0,
                reduction="sum",
                zero_infinity=True,
            ) / batch.target_lengths.sum().clamp(min=1)
            loss = loss + self.ctc_weight * spelled
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
