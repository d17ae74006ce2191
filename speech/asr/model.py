"""Batch-first CTC recognizers, trainable with Opacus DP-SGD.

:class:`ConformerCTC` learns from log-mels; :class:`EncoderCTC` is a small Conformer head on
a frozen pretrained encoder's features (:mod:`speech.data.encoder`). Both are
:class:`CTCModel` s: features and valid frames in, CTC log-probabilities and valid frames out.

torchaudio's own ``Conformer`` is time-first and uses ``nn.MultiheadAttention``, which
Opacus cannot compute per-sample gradients for. Every parameter here sits in an
``nn.Linear``, ``nn.Conv1d``/``nn.Conv2d``, or ``nn.LayerNorm``; tensors are
(batch, time, channels) throughout, and there is no BatchNorm, so one example's gradient
never depends on another's.

    feats (B, T, n_mels) ─ normalise ─ Conv2d subsampling ×4 ─ N × ConformerBlock ─ Linear ─▶
    log-probs (B, T/4, vocab)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class ConformerConfig:
    """Shape of a :class:`ConformerCTC`; ``vocab_size`` includes the CTC blank (index 0).

    The defaults are the CPU preset ``conf/model/asr_tiny.yaml``; ``asr_small.yaml`` is the
    GPU preset. Those files are the presets' one source.
    """

    n_mels: int = 80
    vocab_size: int = 29
    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    ff_mult: int = 4
    conv_kernel: int = 15
    subsample_channels: int = 32
    dropout: float = 0.1


class Subsample(nn.Module):
    """Two stride-2 convolutions over (time, mel): 10 ms frames become 40 ms frames."""

    def __init__(self, n_mels: int, channels: int, d_model: int):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, stride=2)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=2)
        freq = ((n_mels - 1) // 2 - 1) // 2
        self.proj = nn.Linear(channels * freq, d_model)

    @staticmethod
    def frames(lengths: Tensor) -> Tensor:
        """Output frames for ``lengths`` input frames (valid convolutions, stride 2, twice)."""
        return (((lengths - 1) // 2 - 1) // 2).clamp(min=0)

    def forward(self, x: Tensor) -> Tensor:  # (B, T, F) -> (B, T', d)
        x = F.silu(self.conv2(F.silu(self.conv1(x[:, None]))))
        b, c, t, f = x.shape
        return self.proj(x.permute(0, 2, 1, 3).reshape(b, t, c * f))


class FeedForward(nn.Module):
    def __init__(self, d: int, mult: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.up = nn.Linear(d, d * mult)
        self.down = nn.Linear(d * mult, d)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.down(self.drop(F.silu(self.up(self.norm(x))))))


class SelfAttention(nn.Module):
    """Multi-head self-attention from plain Linear layers (Opacus-friendly), padding masked."""

    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        if d % heads:
            raise ValueError(f"d_model {d} is not divisible by {heads} heads")
        self.heads = heads
        self.norm = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.dropout = dropout

    def forward(self, x: Tensor, pad: Tensor | None) -> Tensor:
        b, t, d = x.shape
        q, k, v = (
            self.qkv(self.norm(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        )
        mask = None if pad is None else ~pad[:, None, None, :]  # True = attend
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0
        )
        return F.dropout(self.out(y.transpose(1, 2).reshape(b, t, d)), self.dropout, self.training)


class ConvModule(nn.Module):
    """Pointwise GLU, depthwise conv over time, per-frame LayerNorm (not BatchNorm), pointwise.

    The usual BatchNorm would mix examples (no per-sample gradients); a GroupNorm over
    (channels, time) would mix valid frames with padding. LayerNorm over the channels of
    each frame does neither."""

    def __init__(self, d: int, kernel: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.pw1 = nn.Conv1d(d, 2 * d, 1)
        self.dw = nn.Conv1d(d, d, kernel, padding=kernel // 2, groups=d)
        self.frame_norm = nn.LayerNorm(d)
        self.pw2 = nn.Conv1d(d, d, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, pad: Tensor | None) -> Tensor:
        y = F.glu(self.pw1(self.norm(x).transpose(1, 2)), dim=1)
        if pad is not None:  # padding must not leak into valid frames through the kernel
            y = y.masked_fill(pad[:, None, :], 0.0)
        y = self.frame_norm(self.dw(y).transpose(1, 2)).transpose(1, 2)
        y = self.pw2(F.silu(y))
        return self.drop(y.transpose(1, 2))


class ConformerBlock(nn.Module):
    def __init__(self, c: ConformerConfig):
        super().__init__()
        self.ff1 = FeedForward(c.d_model, c.ff_mult, c.dropout)
        self.attn = SelfAttention(c.d_model, c.n_heads, c.dropout)
        self.conv = ConvModule(c.d_model, c.conv_kernel, c.dropout)
        self.ff2 = FeedForward(c.d_model, c.ff_mult, c.dropout)
        self.norm = nn.LayerNorm(c.d_model)

    def forward(self, x: Tensor, pad: Tensor | None) -> Tensor:
        x = x + 0.5 * self.ff1(x)
        x = x + self.attn(x, pad)
        x = x + self.conv(x, pad)
        x = x + 0.5 * self.ff2(x)
        return self.norm(x)


def _positions(t: int, d: int, device, dtype) -> Tensor:
    pos = torch.arange(t, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(
        torch.arange(0, d, 2, device=device, dtype=torch.float32) * (-math.log(1e4) / d)
    )
    pe = torch.zeros(t, d, device=device)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
    return pe.to(dtype)


class CTCModel(nn.Module):
    """What the recognizer's task, decoder and devices rely on.

    ``feature_mean`` / ``feature_std`` buffers (the input normalisation, fitted before
    training), ``output_lengths(frames)``, ``frame_seconds`` and
    ``forward(feats, lengths) -> (log-probs (B, T', V), lengths')``.
    """

    @staticmethod
    def output_lengths(frames: Tensor) -> Tensor:
        raise NotImplementedError

    @property
    def frame_seconds(self) -> float:
        raise NotImplementedError

    def _blocks_and_head(self, x: Tensor, out_len: Tensor) -> tuple[Tensor, Tensor]:
        """Positions, the Conformer blocks (padding past ``out_len`` masked) and the CTC head."""
        pad = torch.arange(x.shape[1], device=x.device)[None] >= out_len[:, None]
        x = x + _positions(x.shape[1], x.shape[2], x.device, x.dtype)
        for block in self.blocks:
            x = block(x, pad if bool(pad.any()) else None)
        return F.log_softmax(self.head(x).float(), dim=-1), out_len


class ConformerCTC(CTCModel):
    """Log-mel frames in, per-frame CTC log-probabilities out (blank = 0).

    Args: the fields of :class:`ConformerConfig`.
    """

    def __init__(self, **shape):
        super().__init__()
        self.config = ConformerConfig(**shape)
        c = self.config
        self.register_buffer("feature_mean", torch.zeros(c.n_mels))
        self.register_buffer("feature_std", torch.ones(c.n_mels))
        self.subsample = Subsample(c.n_mels, c.subsample_channels, c.d_model)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(ConformerBlock(c) for _ in range(c.n_layers))
        self.head = nn.Linear(c.d_model, c.vocab_size)

    @staticmethod
    def output_lengths(frames: Tensor) -> Tensor:
        return Subsample.frames(frames)

    @property
    def frame_seconds(self) -> float:
        return 0.04  # 10 ms features, subsampled 4x

    def forward(self, feats: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """feats (B, T, n_mels), lengths (B,) valid frames -> (log-probs (B, T', V), lengths')."""
        if feats.shape[1] < 7:  # the subsampling needs 7 frames (85 ms) for one output frame
            feats = F.pad(feats, (0, 0, 0, 7 - feats.shape[1]))
        if lengths is None:
            lengths = torch.full((feats.shape[0],), feats.shape[1], device=feats.device)
        x = (feats - self.feature_mean) / self.feature_std
        x = self.drop(self.subsample(x))
        return self._blocks_and_head(x, self.output_lengths(lengths).clamp(min=1, max=x.shape[1]))


class EncoderCTC(CTCModel):
    """A trainable CTC head on frozen encoder features (Whisper's encoder: 50 Hz, 384 dims).

    Pairs of 20 ms frames are stacked into one 40 ms frame (the rate our character CTC and
    its word times use), projected to ``d_model`` and passed through ``n_layers`` Conformer
    blocks; every parameter is in a Linear, Conv1d or LayerNorm, so Opacus can clip each
    example's gradient.

        feats (B, T, n_mels) - normalise - stack 2 - Linear - N x ConformerBlock - Linear -
        log-probs (B, ceil(T/2), vocab)

    Args:
        n_mels: the encoder's feature width (set by the task from the front end).
        the rest: as :class:`ConformerConfig`.
    """

    def __init__(
        self,
        n_mels: int = 384,
        vocab_size: int = 29,
        d_model: int = 192,
        n_layers: int = 2,
        n_heads: int = 4,
        ff_mult: int = 4,
        conv_kernel: int = 15,
        dropout: float = 0.1,
    ):
        super().__init__()
        self.config = ConformerConfig(
            n_mels=n_mels,
            vocab_size=vocab_size,
            d_model=d_model,
            n_layers=n_layers,
            n_heads=n_heads,
            ff_mult=ff_mult,
            conv_kernel=conv_kernel,
            dropout=dropout,
        )
        c = self.config
        self.register_buffer("feature_mean", torch.zeros(n_mels))
        self.register_buffer("feature_std", torch.ones(n_mels))
        self.proj = nn.Linear(2 * n_mels, d_model)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(ConformerBlock(c) for _ in range(n_layers))
        self.head = nn.Linear(d_model, vocab_size)

    @staticmethod
    def output_lengths(frames: Tensor) -> Tensor:
        return torch.div(frames + 1, 2, rounding_mode="floor").clamp(min=1)

    @property
    def frame_seconds(self) -> float:
        return 0.04  # 20 ms encoder frames, stacked in pairs

    def forward(self, feats: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """feats (B, T, n_mels), lengths (B,) valid frames -> (log-probs (B, T', V), lengths')."""
        if lengths is None:
            lengths = torch.full((feats.shape[0],), feats.shape[1], device=feats.device)
        x = (feats - self.feature_mean) / self.feature_std
        valid = torch.arange(x.shape[1], device=x.device)[None] < lengths[:, None]
        x = x.masked_fill(~valid[..., None], 0.0)
        if x.shape[1] % 2:
            x = F.pad(x, (0, 0, 0, 1))
        b, t, f = x.shape
        x = self.drop(self.proj(x.reshape(b, t // 2, 2 * f)))
        return self._blocks_and_head(x, self.output_lengths(lengths).clamp(max=x.shape[1]))
