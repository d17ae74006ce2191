"""Acoustic features as ``nn.Module`` s: log-mel filterbanks and SpecAugment.

Both modules are device-agnostic: move them with ``.to(device)`` together with the model,
so features are computed on the GPU during training and on the CPU on a device. Inputs and
outputs are batch-first, time second, as the models expect.

Checkpoints store :meth:`FeatureConfig.asdict`, and inference rebuilds the exact front end
with ``FeatureConfig.from_dict(d).build()``; nothing but the checkpoint file is needed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch
import torchaudio
from torch import Tensor, nn

from speech import SAMPLE_RATE


def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


@dataclasses.dataclass(frozen=True, kw_only=True)
class FeatureConfig:
    """Settings of the log-mel front end, stored in every checkpoint.

    Attributes:
        n_mels: number of mel bands.
        win_ms: analysis window length in milliseconds.
        hop_ms: frame shift in milliseconds.
        f_min: lowest mel filter edge in Hz.
        f_max: highest mel filter edge in Hz; at most ``sample_rate / 2``.
        sample_rate: input rate in Hz.
        n_fft: FFT size; ``None`` means the next power of two of the window length.
        eps: floor added to the power before the log.
        encoder: a frozen pretrained encoder instead of log-mels (``whisper-tiny.en``,
            ``whisper-base``: :mod:`speech.data.encoder`); the log-mel fields are then unused.
    """

    n_mels: int = 40
    win_ms: float = 25.0
    hop_ms: float = 10.0
    f_min: float = 20.0
    f_max: float = 7600.0
    sample_rate: int = SAMPLE_RATE
    n_fft: int | None = None
    eps: float = 1e-6
    encoder: str | None = None

    def __post_init__(self) -> None:
        if self.encoder is not None:
            from speech.data.encoder import ENCODERS

            if self.encoder not in ENCODERS:
                raise ValueError(
                    f"unknown encoder {self.encoder!r}; one of {', '.join(ENCODERS)} (or null)"
                )
        if self.n_mels < 1:
            raise ValueError(f"n_mels must be at least 1, got {self.n_mels}")
        if self.win_ms <= 0 or self.hop_ms <= 0:
            raise ValueError(
                f"win_ms and hop_ms must be positive, got {self.win_ms}, {self.hop_ms}"
            )
        if not 0 <= self.f_min < self.f_max <= self.sample_rate / 2:
            raise ValueError(
                f"need 0 <= f_min < f_max <= sample_rate/2 ({self.sample_rate / 2:g} Hz), "
                f"got f_min={self.f_min}, f_max={self.f_max}"
            )
        if self.n_fft is not None and self.n_fft < self.win_length:
            raise ValueError(f"n_fft={self.n_fft} is shorter than the window ({self.win_length})")

    @property
    def win_length(self) -> int:
        """Window length in samples."""
        return max(1, round(self.sample_rate * self.win_ms / 1000))

    @property
    def hop_length(self) -> int:
        """Frame shift in samples."""
        return max(1, round(self.sample_rate * self.hop_ms / 1000))

    @property
    def dim(self) -> int:
        """Channels of each feature frame: mel bands, or the encoder's width."""
        if self.encoder is not None:
            from speech.data.encoder import ENCODERS

            return ENCODERS[self.encoder]
        return self.n_mels

    def build(self) -> nn.Module:
        """The front end these settings describe: :class:`LogMel`, or a
        :class:`speech.data.encoder.PretrainedEncoder`."""
        if self.encoder is not None:
            from speech.data.encoder import PretrainedEncoder

            return PretrainedEncoder(self.encoder)
        d = self.asdict()
        d.pop("encoder", None)
        return LogMel(**d)

    def asdict(self) -> dict[str, Any]:
        """Plain dict for a checkpoint (JSON- and ``torch.save``-safe); ``encoder`` only when
        set, so log-mel checkpoints read the same as before it existed."""
        d = dataclasses.asdict(self)
        if d["encoder"] is None:
            d.pop("encoder", None)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureConfig:
        """Inverse of :meth:`asdict`; unknown keys raise rather than being ignored."""
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(
                f"unknown feature settings {sorted(unknown)}; the checkpoint was written by "
                "another version of speech.data.features"
            )
        return cls(**d)


class LogMel(nn.Module):
    """Log power mel spectrogram: ``(B, samples)`` float waveforms to ``(B, frames, n_mels)``.

    Frames are computed with ``center=False``: frame ``t`` covers samples
    ``[t * hop, t * hop + n_fft)`` and never looks at padding before the clip or past its
    end. That makes the whole-clip features identical to those a streaming front end
    computes causally from a ring buffer of ``n_fft`` samples, and makes :meth:`frames`
    a function of the number of samples alone.

    The computation always runs in float32, also inside ``torch.autocast``: the log of a
    half-precision power spectrum loses the quiet bands that matter for far-field speech.
    """

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        n_mels: int = 40,
        win_ms: float = 25.0,
        hop_ms: float = 10.0,
        n_fft: int | None = None,
        f_min: float = 20.0,
        f_max: float = 7600.0,
        eps: float = 1e-6,
    ) -> None:
        super().__init__()
        self.config = FeatureConfig(
            n_mels=n_mels,
            win_ms=win_ms,
            hop_ms=hop_ms,
            f_min=f_min,
            f_max=f_max,
            sample_rate=sample_rate,
            n_fft=n_fft,
            eps=eps,
        )
        self.win_length = self.config.win_length
        self.hop_length = self.config.hop_length
        self.n_fft = n_fft if n_fft is not None else _next_pow2(self.win_length)
        self.n_mels = n_mels
        self.eps = eps
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=self.n_fft,
            win_length=self.win_length,
            hop_length=self.hop_length,
            f_min=f_min,
            f_max=f_max,
            n_mels=n_mels,
            power=2.0,
            center=False,
        )

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> LogMel:
        # model.half() / .to(torch.bfloat16) must not lower the window and filterbank:
        # features are always computed in float32 (see the class docstring).
        super()._apply(fn, recurse)
        self.mel.float()
        return self

    def frames(self, num_samples: int) -> int:
        """Exact number of output frames for a clip of ``num_samples`` samples.

        A clip shorter than ``n_fft`` is zero-padded to one frame, so every clip gives at
        least one frame.
        """
        return 1 + max(0, int(num_samples) - self.n_fft) // self.hop_length

    def lengths_to_frames(self, lengths: Tensor) -> Tensor:
        """Valid frames for each clip of a padded batch; ``lengths``: (B,) samples.

        A frame is valid when it lies wholly inside the clip (the first frame always is),
        so the result agrees with :meth:`frames` and padding never leaks into a valid
        frame. Returns (B,) int64 on the device of ``lengths``.
        """
        lengths = lengths.long()
        return 1 + torch.div(
            (lengths - self.n_fft).clamp(min=0), self.hop_length, rounding_mode="floor"
        )

    def forward(self, waves: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Log-mel features of a batch of waveforms.

        Args:
            waves: (B, samples) or (samples,) float waveforms in [-1, 1].
            lengths: unused (frames are computed over the padded batch; see
                :meth:`lengths_to_frames`); accepted so every front end is called alike.

        Returns:
            (B, frames, n_mels) float32, or (frames, n_mels) for an unbatched input.
        """
        if waves.dim() not in (1, 2):
            raise ValueError(
                f"LogMel expects (B, samples) or (samples,), got shape {tuple(waves.shape)}"
            )
        squeeze = waves.dim() == 1
        if squeeze:
            waves = waves.unsqueeze(0)
        if waves.shape[-1] < self.n_fft:
            waves = nn.functional.pad(waves, (0, self.n_fft - waves.shape[-1]))
        with torch.autocast(device_type=waves.device.type, enabled=False):
            power = self.mel(waves.float())  # (B, n_mels, frames)
            feats = torch.log(power + self.eps).transpose(1, 2)
        return feats[0] if squeeze else feats


class SpecAugment(nn.Module):
    """Frequency and time masking on (B, T, F) features, in training mode only.

    Each example draws its own masks. Masks are placed inside the valid frames given by
    ``lengths`` (padding stays untouched) and are filled with that example's mean over its
    valid frames: a zero is not neutral in the log-mel domain, where it would be a loud
    burst. Uses the global torch generator on the features' device, so results are
    reproducible after ``torch.manual_seed``.

    Args:
        freq_masks: number of frequency masks per example.
        freq_width: largest frequency mask, in bins (each width is uniform in 0..freq_width).
        time_masks: number of time masks per example.
        time_width: largest time mask, in frames.
        p: largest time mask as a fraction of the example's valid length (as in the
            SpecAugment paper), so short clips are not wiped out.
    """

    def __init__(
        self,
        freq_masks: int = 2,
        freq_width: int = 8,
        time_masks: int = 2,
        time_width: int = 10,
        p: float = 1.0,
    ) -> None:
        super().__init__()
        if min(freq_masks, freq_width, time_masks, time_width) < 0:
            raise ValueError("mask counts and widths must be non-negative")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p is a fraction of the valid length, in [0, 1]; got {p}")
        self.freq_masks = freq_masks
        self.freq_width = freq_width
        self.time_masks = time_masks
        self.time_width = time_width
        self.p = p

    def forward(self, feats: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Args: feats (B, T, F); lengths (B,) valid frames, or None when all are valid."""
        if not self.training or (self.freq_masks == 0 and self.time_masks == 0):
            return feats
        if feats.dim() != 3:
            raise ValueError(f"SpecAugment expects (B, T, F), got shape {tuple(feats.shape)}")
        b, t, f = feats.shape
        dev = feats.device
        if lengths is None:
            lengths = torch.full((b,), t, dtype=torch.long, device=dev)
        lengths = lengths.to(dev).long().clamp(0, t)
        valid = torch.arange(t, device=dev)[None, :] < lengths[:, None]  # (B, T)

        freq_hit = torch.zeros(b, f, dtype=torch.bool, device=dev)
        bins = torch.arange(f, device=dev)[None, :]
        max_fw = torch.full((b,), min(self.freq_width, f), dtype=torch.long, device=dev)
        for _ in range(self.freq_masks):
            start, width = _random_span(max_fw, torch.full_like(max_fw, f))
            freq_hit |= (bins >= start[:, None]) & (bins < (start + width)[:, None])

        time_hit = torch.zeros(b, t, dtype=torch.bool, device=dev)
        steps = torch.arange(t, device=dev)[None, :]
        max_tw = torch.minimum(
            torch.full_like(lengths, self.time_width),
            torch.floor(lengths.float() * self.p).long(),
        )
        for _ in range(self.time_masks):
            start, width = _random_span(max_tw, lengths)
            time_hit |= (steps >= start[:, None]) & (steps < (start + width)[:, None])

        hit = (freq_hit[:, None, :] | time_hit[:, :, None]) & valid[:, :, None]
        counts = (lengths * f).clamp(min=1).float()
        fill = (feats.float() * valid[:, :, None]).sum(dim=(1, 2)) / counts
        return torch.where(hit, fill[:, None, None].to(feats.dtype), feats)


def _random_span(max_width: Tensor, extent: Tensor) -> tuple[Tensor, Tensor]:
    """Per-row width uniform in 0..max_width and start uniform so the span fits in extent."""
    u = torch.rand(2, max_width.shape[0], device=max_width.device)
    width = torch.floor(u[0] * (max_width + 1)).long().clamp(max=max_width)
    room = (extent - width).clamp(min=0)
    start = torch.floor(u[1] * (room + 1)).long().clamp(max=room)
    return start, width


def mel_warp(feats: Tensor, factors: Tensor) -> Tensor:
    """Stretch each example's mel axis by its factor (a vocal-tract-length perturbation).

    ``feats``: (B, T, F); ``factors``: (B,), e.g. uniform in [0.88, 1.12]. Band ``j`` of the
    output takes the (linearly interpolated) value of band ``j * factor`` of the input, so a
    factor above 1 moves formants down, as a longer vocal tract would. Frames stay independent,
    so streaming is unaffected; use it in training only.
    """
    n = feats.shape[-1]
    pos = (torch.arange(n, device=feats.device, dtype=feats.dtype)[None] * factors[:, None]).clamp(
        0, n - 1
    )
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    w = (pos - lo)[:, None, :]
    take = lambda idx: torch.gather(feats, 2, idx[:, None, :].expand(-1, feats.shape[1], -1))  # noqa: E731
    return take(lo) * (1 - w) + take(hi) * w


@torch.no_grad()
def fit_input_normalisation(
    model: nn.Module, frontend: nn.Module, loader, batches: int = 20
) -> None:
    """Set ``model.feature_mean`` / ``feature_std`` from the valid frames of ``batches``
    batches of ``loader`` (a model's input normalisation, fixed before training)."""
    device = model.feature_mean.device
    frontend.to(device)
    feats = []
    for i, batch in enumerate(loader):
        if i >= batches:
            break
        f = frontend(batch.waves.to(device), batch.wave_lengths)
        n = frontend.lengths_to_frames(batch.wave_lengths.to(device))
        feats += [f[b, : n[b]] for b in range(len(n))]
    allf = torch.cat(feats)
    model.feature_mean.copy_(allf.mean(0))
    model.feature_std.copy_(allf.std(0).clamp(min=1e-3))
