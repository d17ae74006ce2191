"""A causal, streamable keyword-spotting network (dilated depthwise-separable TCN).

The model knows nothing about training. It maps log-mel frames to one wake logit per
frame, seeing only the past: every convolution is causal and every normalisation is
per frame (LayerNorm over channels), so frame-by-frame streaming with carried state
gives exactly the whole-clip result, and Opacus can compute per-sample gradients (no
BatchNorm anywhere).

Presets live in ``conf/model/kws_small.yaml`` (the on-device default) and ``kws_large.yaml``
(GPU); the constructor's defaults are the small preset's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class KWSConfig:
    """Constructor arguments of :class:`KWSModel` (stored in checkpoints)."""

    n_mels: int = 40
    channels: int = 64
    kernel: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2, 4, 8)
    dropout: float = 0.1
    norm_frames: int = 0

    @property
    def receptive_field(self) -> int:
        """Frames of context behind each output."""
        return 1 + sum((self.kernel - 1) * d for d in self.dilations)


class ChannelNorm(nn.Module):
    """LayerNorm over channels of a (B, C, T) tensor, independently per frame."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class RunningMeanNorm(nn.Module):
    """Subtracts from every channel its causal mean over the last ``frames`` frames.

    Online cepstral mean normalisation in the log-mel domain: a voice's or a room's long-term
    spectral tilt is removed, what changes within a word is kept. At the start of a clip or
    stream the mean is over the frames heard so far, so a 2 s training clip and the first
    seconds of a stream are treated alike. Streaming carries the last ``frames - 1`` inputs
    and the count of frames seen.
    """

    def __init__(self, frames: int):
        super().__init__()
        if frames < 2:
            raise ValueError(f"norm_frames must be 0 (off) or >= 2, not {frames}")
        self.frames = frames

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, C, T) -> (B, C, T)."""
        c = torch.cumsum(F.pad(x.double(), (self.frames, 0)), dim=-1)  # double: long streams
        sums = (c[..., self.frames :] - c[..., : -self.frames]).to(x.dtype)
        counts = torch.clamp(torch.arange(1, x.shape[-1] + 1, device=x.device), max=self.frames)
        return x - sums / counts

    def initial_state(self, batch: int, channels: int, device) -> list[Tensor]:
        return [
            torch.zeros(batch, channels, self.frames - 1, device=device),
            torch.zeros(batch, 1, 1, device=device),
        ]

    def step(self, x: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """One frame. x: (B, C, 1); state: past inputs (zeros before the start) and count."""
        past, count = state
        window = torch.cat([past, x], dim=2)
        count = torch.clamp(count + 1, max=float(self.frames))
        return x - window.sum(-1, keepdim=True) / count, [window[:, :, 1:], count]


class Block(nn.Module):
    """Causal depthwise conv -> per-frame LayerNorm -> ReLU -> pointwise conv, residual."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.context = (kernel - 1) * dilation
        self.depthwise = nn.Conv1d(channels, channels, kernel, dilation=dilation, groups=channels)
        self.norm = ChannelNorm(channels)
        self.pointwise = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def _rest(self, x: Tensor, y: Tensor) -> Tensor:
        return x + self.dropout(self.pointwise(F.relu(self.norm(y))))

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, C, T) -> (B, C, T)."""
        return self._rest(x, self.depthwise(F.pad(x, (self.context, 0))))

    def step(self, x: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """One frame. x: (B, C, 1); state: (B, C, context) past inputs -> (out, new state)."""
        window = torch.cat([state, x], dim=2)
        return self._rest(x, self.depthwise(window)), window[:, :, 1:]


class KWSModel(nn.Module):
    """Log-mel frames (B, T, n_mels) -> wake logits (B, T).

    ``feature_mean``/``feature_std`` (buffers, set from training data) normalise the input.
    """

    def __init__(
        self,
        n_mels: int = 40,
        channels: int = 64,
        kernel: int = 5,
        dilations: tuple[int, ...] | list[int] = (1, 2, 4, 8, 1, 2, 4, 8),
        dropout: float = 0.1,
        norm_frames: int = 0,
    ):
        super().__init__()
        self.config = KWSConfig(n_mels, channels, kernel, tuple(dilations), dropout, norm_frames)
        self.register_buffer("feature_mean", torch.zeros(n_mels))
        self.register_buffer("feature_std", torch.ones(n_mels))
        self.running_norm = RunningMeanNorm(norm_frames) if norm_frames else None
        self.inp = nn.Conv1d(n_mels, channels, 1)
        self.blocks = nn.ModuleList(
            Block(channels, kernel, d, dropout) for d in self.config.dilations
        )
        self.out_norm = ChannelNorm(channels)
        self.head = nn.Conv1d(channels, 1, 1)

    def _normalised(self, feats: Tensor) -> Tensor:
        """(B, T, n_mels) -> (B, n_mels, T) on the training data's scale."""
        return ((feats - self.feature_mean) / self.feature_std).transpose(1, 2)

    def _out(self, x: Tensor) -> Tensor:
        return self.head(F.relu(self.out_norm(x)))[:, 0]

    def forward(self, feats: Tensor) -> Tensor:
        """feats: (B, T, n_mels) -> logits (B, T); output t sees frames <= t only."""
        x = self._normalised(feats)
        if self.running_norm is not None:
            x = self.running_norm(x)
        x = self.inp(x)
        for block in self.blocks:
            x = block(x)
        return self._out(x)

    def initial_state(self, batch: int = 1, device: torch.device | str = "cpu") -> list[Tensor]:
        """Zeros: one tensor per block, then the running norm's two (when it has one)."""
        c = self.config.channels
        state = [torch.zeros(batch, c, b.context, device=device) for b in self.blocks]
        if self.running_norm is not None:
            state += self.running_norm.initial_state(batch, self.config.n_mels, device)
        return state

    def step(self, frame: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """One frame. frame: (B, n_mels) -> (logit (B,), new state)."""
        x = self._normalised(frame[:, None, :])
        n = len(self.blocks)
        norm_state: list[Tensor] = []
        if self.running_norm is not None:
            x, norm_state = self.running_norm.step(x, state[n:])
        x = self.inp(x)
        new_state = []
        for block, s in zip(self.blocks, state[:n], strict=True):
            x, s = block.step(x, s)
            new_state.append(s)
        return self._out(x)[:, 0], new_state + norm_state

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def macs_per_frame(self) -> int:
        """Multiply-accumulates for one output frame in streaming mode."""
        c, k, m = self.config.channels, self.config.kernel, self.config.n_mels
        per_block = c * k + c * c  # depthwise + pointwise
        norm = m * self.config.norm_frames  # the running mean's window sum
        return norm + m * c + len(self.blocks) * per_block + c
