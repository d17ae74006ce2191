"""On-device wake-word detection: frame-by-frame scoring, smoothing, threshold, refractory.

:class:`Detector` consumes audio in chunks of any size, computes exactly the frames the
whole-clip front end would, and carries the network's state between calls, so its
scores equal :func:`clip_scores` on the same audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from speech import SAMPLE_RATE
from speech.data.features import LogMel
from speech.kws.model import KWSModel


@dataclass
class Detection:
    """A wake event: ``time`` in seconds from the start of the audio, smoothed ``score``."""

    time: float
    score: float


def smooth(posteriors: Tensor, window: int) -> Tensor:
    """Causal moving average over the last ``window`` frames. posteriors: (..., T)."""
    if window <= 1:
        return posteriors
    c = torch.cumsum(torch.nn.functional.pad(posteriors, (window, 0)), dim=-1)
    counts = torch.clamp(
        torch.arange(1, posteriors.shape[-1] + 1, device=posteriors.device), max=window
    )
    return (c[..., window:] - c[..., :-window]) / counts


@torch.no_grad()
def clip_scores(
    model: KWSModel, frontend: LogMel, wave: Tensor | np.ndarray, smoothing: int = 1
) -> Tensor:
    """Smoothed wake posterior per frame for a whole clip. wave: (S,) -> (T,)."""
    wave = torch.as_tensor(wave, dtype=torch.float32)
    feats = frontend(wave[None])
    return smooth(torch.sigmoid(model(feats))[0], smoothing)


def detect(
    scores: Tensor | np.ndarray, *, threshold: float, refractory: float, hop: int, window: int
) -> list[Detection]:
    """Peaks above ``threshold`` at least ``refractory`` seconds apart (first crossing wins)."""
    scores = np.asarray(scores)
    out: list[Detection] = []
    next_allowed = -1.0
    for t in np.flatnonzero(scores >= threshold):
        time = (t * hop + window) / SAMPLE_RATE
        if time >= next_allowed:
            out.append(Detection(round(time, 3), round(float(scores[t]), 4)))
            next_allowed = time + refractory
    return out


class Detector:
    """Streaming detector for one audio source.

    Args:
        model: a trained :class:`KWSModel` (eval mode).
        frontend: the checkpoint's :class:`LogMel`.
        threshold, smoothing (frames), refractory (seconds): the operating point.
    """

    def __init__(
        self,
        model: KWSModel,
        frontend: LogMel,
        *,
        threshold: float,
        smoothing: int = 1,
        refractory: float = 1.0,
    ):
        self.model, self.frontend = model.eval(), frontend
        self.threshold, self.smoothing, self.refractory = threshold, smoothing, refractory
        self.hop, self.window = frontend.hop_length, frontend.n_fft
        self.reset()

    def reset(self) -> None:
        self.buffer = torch.zeros(0)
        self.consumed = 0  # samples dropped from the front of the buffer
        self.frame = 0
        self.state = self.model.initial_state(1)
        self.recent: list[float] = []
        self.next_allowed = -1.0

    @torch.no_grad()
    def push(self, chunk: np.ndarray | Tensor) -> tuple[list[float], list[Detection]]:
        """Feed samples; returns the smoothed scores of the frames completed and any detections."""
        self.buffer = torch.cat([self.buffer, torch.as_tensor(chunk, dtype=torch.float32)])
        scores, found = [], []
        while (start := self.frame * self.hop - self.consumed) + self.window <= len(self.buffer):
            feats = self.frontend(self.buffer[start : start + self.window][None])  # (1, 1, n_mels)
            logit, self.state = self.model.step(feats[:, 0], self.state)
            self.recent = ([*self.recent, float(torch.sigmoid(logit)[0])])[-self.smoothing :]
            score = sum(self.recent) / len(self.recent)
            scores.append(score)
            time = (self.frame * self.hop + self.window) / SAMPLE_RATE
            if score >= self.threshold and time >= self.next_allowed:
                found.append(Detection(round(time, 3), round(score, 4)))
                self.next_allowed = time + self.refractory
            self.frame += 1
        drop = self.frame * self.hop - self.consumed
        if drop > 0:
            self.buffer, self.consumed = self.buffer[drop:], self.consumed + drop
        return scores, found
