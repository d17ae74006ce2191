"""The recognizer task for the shared training loop: data, CTC loss, validation, metadata."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from speech.asr.decode import align_words, apply_offsets, greedy, time_offsets
from speech.asr.lm import CharNgram, build_lm
from speech.asr.model import ConformerCTC, CTCModel
from speech.asr.vocab import CharVocab
from speech.checkpoint import construct, unwrap
from speech.data.align import word_errors
from speech.data.dataset import Batch, ManifestDataset, make_loader
from speech.data.features import FeatureConfig, SpecAugment, fit_input_normalisation, mel_warp

OFFSET_NAMES = ("start_offset", "end_offset", "first_start_offset", "last_end_offset")


def silence_frames(
    words, n_frames: int, frame_seconds: float, valid: int, margin: float
) -> torch.Tensor:
    """(n_frames,) bool: valid output frames farther than ``margin`` seconds from every word.

    Clips without word times get no silent frames (nothing is assumed about them).
    """
    silent = torch.zeros(n_frames, dtype=torch.bool)
    if not words:
        return silent
    silent[:valid] = True
    for w in words:
        a = max(0, int((w.start - margin) / frame_seconds))
        b = min(valid, int(np.ceil((w.end + margin) / frame_seconds)))
        silent[a:b] = False
    return silent


class ASRTask:
    """Character CTC training on a corpus manifest.

    Args:
        manifest: corpus ``manifest.jsonl``.
        model: the model config: ``_target_`` (a :class:`ConformerCTC` class path; the default
            when absent) and its constructor arguments (``n_mels`` and ``vocab_size`` come from
            ``features`` and the vocabulary).
        features: :class:`FeatureConfig` fields.
        kinds: clip kinds to train on (all have transcripts; the stream is left out).
        max_seconds: longer clips are left out of training.
        batch_seconds: audio per batch (length-bucketed).
        mel_warp: training-time vocal-tract-length perturbation (see :func:`mel_warp`); log-mel
            front ends only (a pretrained encoder's channels are not frequencies).
        encoder_cache_mb: memory for a pretrained encoder's features of training clips
            (frozen, so epochs after the first read them back; float16, about 1.4 MB per
            minute of audio for whisper-tiny.en).
        spec_augment: :class:`SpecAugment` fields.
        lm_sentences, lm_order, lm_prune: the character LM shipped in the checkpoint, trained
            on sentences from the corpus templates for unseen households (see :func:`build_lm`).
        beam_size, lm_weight, word_bonus: decoder defaults stored with the model.
        train_splits: splits to train on.
        restrict_to_words: count only CTC alignments whose letters lie within
            ``silence_margin`` seconds of the reference words (letter log-probabilities are
            -inf elsewhere inside the loss). Plain CTC is free to place letters anywhere and
            learns to emit an utterance's first letters in its leading silence, 0.2 s before
            the first word (measured on dev; see docs/DESIGN.md).
        silence_weight: weight of a soft term on the same frames, ``-log(p_blank + p_sep)``
            summed over them, added to the CTC loss (0 = off).
        silence_margin: seconds around each reference word left to plain CTC (the corpus's
            word times are exact for festival voices, about 17 ms off for aligned ones).
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
        restrict_to_words: bool = True,
        silence_weight: float = 0.0,
        silence_margin: float = 0.06,
        wake_phrase: str = "hey nova",
        encoder_cache_mb: int = 2048,
        seed: int = 0,
        name: str = "asr",
    ):
        self.name = name
        self.manifest = Path(manifest)
        self.model_target = model.get("_target_", f"{ConformerCTC.__module__}.ConformerCTC")
        self.model_args = {k: v for k, v in model.items() if k != "_target_"}
        self.features = FeatureConfig(**(features or {}))
        self.kinds = tuple(kinds)
        self.max_seconds, self.batch_seconds = max_seconds, batch_seconds
        self.mel_warp = mel_warp
        self.spec_augment = SpecAugment(**(spec_augment or {}))
        self.lm_sentences, self.lm_order, self.lm_prune = lm_sentences, lm_order, lm_prune
        self.decoder = {"beam_size": beam_size, "lm_weight": lm_weight, "word_bonus": word_bonus}
        self.train_splits = tuple(train_splits)
        if silence_weight < 0 or silence_margin < 0:
            raise ValueError("silence_weight and silence_margin must be >= 0")
        self.silence_weight, self.silence_margin = silence_weight, silence_margin
        self.restrict_to_words = restrict_to_words
        self.wake_phrase = wake_phrase
        self.seed = seed
        self.vocab = CharVocab()
        self.frontend = self.features.build()
        if self.features.encoder is not None:
            self.frontend.cache_bytes = int(encoder_cache_mb) << 20
        self._lm: CharNgram | None = None
        self._words: dict[str, list] = {}

    # --- model and data -------------------------------------------------------------------
    def build_model(self) -> CTCModel:
        args = {**self.model_args, "n_mels": self.features.dim, "vocab_size": len(self.vocab)}
        model = construct(
            self.model_target,
            args,
            kind=CTCModel,
            wrong_kind=f"task=asr trains a {CTCModel.__module__}.CTCModel, but the model config "
            f"builds {self.model_target}; pick a recognizer preset (model=asr_tiny, asr_small "
            "or asr_whisper_head)",
        )
        self.model_args = args
        return model

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
        self._words = {u.id: u.words for u in (*train.utterances, *dev.utterances)}
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

    def init_model(self, model: CTCModel, loader, batches: int = 20) -> None:
        """Set the input normalisation from training features."""
        fit_input_normalisation(model, self.frontend, loader, batches)

    # --- one step -------------------------------------------------------------------------
    def forward(self, model: nn.Module, batch: Batch, *, train: bool):
        self.frontend.to(batch.waves.device)
        feats = self.frontend(batch.waves, batch.wave_lengths)
        n = self.frontend.lengths_to_frames(batch.wave_lengths).to(feats.device)
        if train:
            if self.mel_warp > 0 and self.features.encoder is None:
                factors = (
                    1 + (torch.rand(feats.shape[0], device=feats.device) * 2 - 1) * self.mel_warp
                )
                feats = mel_warp(feats, factors)
            self.spec_augment.train()
            feats = self.spec_augment(feats, n)
        return model(feats, n)

    def loss(
        self, model: nn.Module, batch: Batch, *, per_sample: bool = False
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """CTC (summed over each clip, averaged over clips) plus the soft silence term.

        Every term is already a mean of per-clip terms, so ``per_sample`` changes nothing.
        """
        log_probs, out_len = self.forward(model, batch, train=True)
        log_probs = log_probs.float()
        mask = None
        if self.restrict_to_words or self.silence_weight > 0:
            frame = unwrap(model).frame_seconds
            mask = torch.stack(
                [
                    silence_frames(
                        self._words.get(uid) or [],
                        log_probs.shape[1],
                        frame,
                        n,
                        self.silence_margin,
                    )
                    for uid, n in zip(batch.ids, out_len.tolist(), strict=True)
                ]
            ).to(log_probs.device)
        ctc_in = log_probs
        if self.restrict_to_words:
            letters = torch.ones(log_probs.shape[-1], dtype=torch.bool, device=log_probs.device)
            letters[[0, self.vocab.separator]] = False
            ctc_in = log_probs.masked_fill(mask[..., None] & letters, float("-inf"))
        loss = F.ctc_loss(
            ctc_in.transpose(0, 1),
            batch.targets,
            out_len,
            batch.target_lengths,
            blank=0,
            reduction="sum",
            zero_infinity=True,
        ) / max(1, len(batch.ids))
        if self.silence_weight == 0:
            return loss, {}
        speechless = torch.logsumexp(log_probs[..., [0, self.vocab.separator]], dim=-1)
        silence = -(speechless * mask).sum() / max(1, len(batch.ids))
        return loss + self.silence_weight * silence, {"silence": silence.item()}

    @torch.no_grad()
    def validate(self, model: nn.Module, loader, device) -> dict[str, float]:
        """Greedy WER/CER on dev requests, and the word-time offsets that cancel the model's
        median bias when the reference is force-aligned (stored for inference), with the
        mean boundary error left after them."""
        errors = words = char_errors = chars = 0
        aligned = []  # (words placed without offsets, reference words, seconds)
        fs = model.frame_seconds
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
                if self._words.get(uid):
                    placed = align_words(lp, ref, self.vocab, frame_seconds=fs)
                    aligned.append((placed, self._words[uid], lp.shape[0] * fs))
        offsets = time_offsets((placed, truth) for placed, truth, _ in aligned)
        spread = []
        for placed, truth, seconds in aligned:
            if len(placed) == len(truth):
                shifted = apply_offsets(placed, offsets, seconds)
                for p, t in zip(shifted, truth, strict=True):
                    spread += [abs(p.start - t.start), abs(p.end - t.end)]
        wer = errors / max(1, words)
        return {
            "score": 1 - wer,
            "wer": wer,
            "cer": char_errors / max(1, chars),
            **dict(zip(OFFSET_NAMES, offsets, strict=True)),
            # mean word-boundary error left once the offsets are applied
            "boundary_ms": 1000 * float(np.mean(spread)) if spread else 0.0,
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
                "time_offsets": [metrics.get(k, 0.0) for k in OFFSET_NAMES],
                **self.decoder,
            },
        }
