"""The recognizer task for the shared training loop: data, CTC loss, validation, metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from speech.asr.decode import align_words, greedy
from speech.asr.lm import CharNgram, build_lm
from speech.asr.model import ConformerCTC
from speech.asr.vocab import CharVocab
from speech.data.align import word_errors
from speech.data.dataset import Batch, ManifestDataset, make_loader
from speech.data.features import FeatureConfig, SpecAugment, fit_input_normalisation, mel_warp


class ASRTask:
    """Character CTC training on a corpus manifest.

    Args:
        manifest: corpus ``manifest.jsonl``.
        model: constructor arguments of :class:`ConformerCTC` (``preset`` plus overrides).
        features: :class:`FeatureConfig` fields.
        kinds: clip kinds to train on (all have transcripts; the stream is left out).
        max_seconds: longer clips are left out of training.
        batch_seconds: audio per batch (length-bucketed).
        mel_warp: training-time vocal-tract-length perturbation (see :func:`mel_warp`).
        spec_augment: :class:`SpecAugment` fields.
        lm_sentences, lm_order, lm_prune: the character LM shipped in the checkpoint, trained
            on sentences from the corpus templates for unseen households (see :func:`build_lm`).
        beam_size, lm_weight, word_bonus: decoder defaults stored with the model.
        train_splits: splits to train on.
    """

    def __init__(
        self,
        manifest: str | os.PathLike,
        *,
        model: dict[str, Any],
        features: dict[str, Any] | None = None,
        kinds: tuple[str, ...] | list[str] = ("request", "wake", "negative"),
        max_seconds: float = 12.0,
        batch_seconds: float = 160.0,
        mel_warp: float = 0.12,
        spec_augment: dict[str, Any] | None = None,
        lm_sentences: int = 50000,
        lm_order: int = 8,
        lm_prune: int = 5,
        beam_size: int = 32,
        lm_weight: float = 0.5,
        word_bonus: float = 0.0,
        train_splits: tuple[str, ...] | list[str] = ("train",),
        wake_phrase: str = "hey nova",
        seed: int = 0,
        name: str = "asr",
    ):
        self.name = name
        self.manifest = Path(manifest)
        self.model_args = dict(model)
        self.features = FeatureConfig(**(features or {}))
        self.kinds = tuple(kinds)
        self.max_seconds, self.batch_seconds = max_seconds, batch_seconds
        self.mel_warp = mel_warp
        self.spec_augment = SpecAugment(**(spec_augment or {}))
        self.lm_sentences, self.lm_order, self.lm_prune = lm_sentences, lm_order, lm_prune
        self.decoder = {"beam_size": beam_size, "lm_weight": lm_weight, "word_bonus": word_bonus}
        self.train_splits = tuple(train_splits)
        self.wake_phrase = wake_phrase
        self.seed = seed
        self.vocab = CharVocab()
        self.frontend = self.features.build()
        self._lm: CharNgram | None = None
        self._words: dict[str, list] = {}

    # --- model and data -------------------------------------------------------------------
    def build_model(self) -> ConformerCTC:
        args = {k: v for k, v in self.model_args.items() if k != "_target_"}
        args.update(n_mels=self.features.n_mels, vocab_size=len(self.vocab))
        self.model_args = args
        return ConformerCTC(**args)

    def datasets(self) -> tuple[ManifestDataset, ManifestDataset]:
        train = ManifestDataset(
            self.manifest,
            split=self.train_splits,
            kinds=self.kinds,
            tokenize=self.vocab.encode,
            max_duration=self.max_seconds,
        )
        dev = ManifestDataset(
            self.manifest, split="dev", kinds=("request",), tokenize=self.vocab.encode
        )
        self._words = {u.id: u.words for u in dev.utterances}
        return train, dev

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

    def init_model(self, model: ConformerCTC, loader, batches: int = 20) -> None:
        """Set the input normalisation from training features."""
        fit_input_normalisation(model, self.frontend, loader, batches)

    # --- one step -------------------------------------------------------------------------
    def forward(self, model: nn.Module, batch: Batch, *, train: bool):
        self.frontend.to(batch.waves.device)
        feats = self.frontend(batch.waves)
        n = self.frontend.lengths_to_frames(batch.wave_lengths)
        if train:
            if self.mel_warp > 0:
                factors = (
                    1 + (torch.rand(feats.shape[0], device=feats.device) * 2 - 1) * self.mel_warp
                )
                feats = mel_warp(feats, factors)
            self.spec_augment.train()
            feats = self.spec_augment(feats, n)
        return model(feats, n)

    def loss(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        log_probs, out_len = self.forward(model, batch, train=True)
        loss = F.ctc_loss(
            log_probs.float().transpose(0, 1),
            batch.targets,
            out_len,
            batch.target_lengths,
            blank=0,
            reduction="sum",
            zero_infinity=True,
        ) / max(1, len(batch.ids))
        return loss, {}

    @torch.no_grad()
    def validate(self, model: nn.Module, loader, device) -> dict[str, float]:
        """Greedy WER/CER on dev requests, and the mean signed bias of word starts and ends
        when the reference is force-aligned (stored as the inference-time offsets)."""
        errors = words = char_errors = chars = 0
        bias_start, bias_end = [], []
        for batch in loader:
            batch = batch.to(device)
            log_probs, out_len = self.forward(model, batch, train=False)
            for b, uid in enumerate(batch.ids):
                lp = log_probs[b, : int(out_len[b])].cpu()
                ref = self.vocab.decode(batch.targets[b, : int(batch.target_lengths[b])].tolist())
                hyp = greedy(lp, self.vocab)
                errors += word_errors(ref.split(), hyp.split())
                words += len(ref.split())
                char_errors += word_errors(list(ref), list(hyp))
                chars += len(ref)
                truth = self._words.get(uid) or []
                placed = align_words(lp, ref, self.vocab, frame_seconds=model.frame_seconds)
                if len(truth) == len(placed):
                    bias_start += [p.start - t.start for p, t in zip(placed, truth, strict=True)]
                    bias_end += [p.end - t.end for p, t in zip(placed, truth, strict=True)]
        wer = errors / max(1, words)
        return {
            "score": 1 - wer,
            "wer": wer,
            "cer": char_errors / max(1, chars),
            "start_bias": float(np.median(bias_start)) if bias_start else 0.0,
            "end_bias": float(np.median(bias_end)) if bias_end else 0.0,
        }

    def language_model(self) -> CharNgram:
        if self._lm is None:
            self._lm = build_lm(
                self.lm_sentences,
                order=self.lm_order,
                prune=self.lm_prune,
                seed=self.seed,
                wake_phrase=self.wake_phrase,
            )
        return self._lm

    def checkpoint_meta(self, metrics: dict[str, float]) -> dict[str, Any]:
        return {
            "task": "asr",
            "model_args": self.model_args,
            "features": self.features.asdict(),
            "vocab": list(self.vocab.tokens),
            "extra": {
                "lm": self.language_model().as_dict() if self.lm_sentences else None,
                "time_offsets": [-metrics.get("start_bias", 0.0), -metrics.get("end_bias", 0.0)],
                **self.decoder,
            },
        }
