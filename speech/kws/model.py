"""A causal, streamable keyword-spotting network (dilated depthwise-separable TCN).

The model knows nothing about training. It maps log-mel frames to one wake logit per
frame, seeing only the past: every convolution is causal and every normalisation is
per frame (LayerNorm over channels), so frame-by-frame streaming with carried state
gives exactly the whole-clip result, and Opacus can compute per-sample gradients (no
BatchNorm anywhere).

Presets: ``small`` (~35k parameters, the on-device default) and ``large`` (~300k, GPU).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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
    ctc_vocab: int = 0
    norm_frames: int = 0

    @property
    def receptive_field(self) -> int:
        """Frames of context behind each output."""
        return 1 + sum((self.kernel - 1) * d for d in self.dilations)


PRESETS = {
    "small": KWSConfig(),
    "large": KWSConfig(channels=160, dilations=(1, 2, 4, 8, 16, 1, 2, 4, 8, 16)),
}


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
    With ``ctc_vocab > 0`` a second, training-only head reads the same causal features and
    predicts characters (CTC over every transcribed clip): it makes the network learn what
    was said, not only who said the phrase. Streaming, ONNX export and ``forward`` ignore it.
    """

    def __init__(
        self,
        n_mels: int = 40,
        channels: int = 64,
        kernel: int = 5,
        dilations: tuple[int, ...] | list[int] = (1, 2, 4, 8, 1, 2, 4, 8),
        dropout: float = 0.1,
        ctc_vocab: int = 0,
        norm_frames: int = 0,
    ):
        super().__init__()
        self.config = KWSConfig(
            n_mels, channels, kernel, tuple(dilations), dropout, ctc_vocab, norm_frames
        )
        self.register_buffer("feature_mean", torch.zeros(n_mels))
        self.register_buffer("feature_std", torch.ones(n_mels))
        self.running_norm = RunningMeanNorm(norm_frames) if norm_frames else None
        self.inp = nn.Conv1d(n_mels, channels, 1)
        self.blocks = nn.ModuleList(
            Block(channels, kernel, d, dropout) for d in self.config.dilations
        )
        self.out_norm = ChannelNorm(channels)
        self.head = nn.Conv1d(channels, 1, 1)
        self.ctc_head = nn.Conv1d(channels, ctc_vocab, 1) if ctc_vocab else None

    @classmethod
    def from_preset(cls, name: str, n_mels: int = 40) -> KWSModel:
        if name not in PRESETS:
            raise ValueError(f"unknown KWS preset {name!r}; choose from {sorted(PRESETS)}")
        return cls(**{**asdict(PRESETS[name]), "n_mels": n_mels})

    def _normalised(self, feats: Tensor) -> Tensor:
        """(B, T, n_mels) -> (B, n_mels, T) on the training data's scale."""
        return ((feats - self.feature_mean) / self.feature_std).transpose(1, 2)

    def _out(self, x: Tensor) -> Tensor:
        return self.head(F.relu(self.out_norm(x)))[:, 0]

    def forward(self, feats: Tensor, with_ctc: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """feats: (B, T, n_mels) -> logits (B, T); output t sees frames <= t only.

        With ``with_ctc`` (training): also the CTC log-probabilities (B, T, ctc_vocab).
        """
        x = self._normalised(feats)
        if self.running_norm is not None:
            x = self.running_norm(x)
        x = self.inp(x)
        for block in self.blocks:
            x = block(x)
        if not with_ctc:
            return self._out(x)
        if self.ctc_head is None:
            raise ValueError("this model has no CTC head (built with ctc_vocab=0)")
        h = F.relu(self.out_norm(x))
        return self.head(h)[:, 0], self.ctc_head(h).transpose(1, 2).log_softmax(-1)

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
        """Parameters used at inference (the training-only CTC head is not counted)."""
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith("ctc_head"))

    def macs_per_frame(self) -> int:
        """Multiply-accumulates for one output frame in streaming mode."""
        c, k, m = self.config.channels, self.config.kernel, self.config.n_mels
        per_block = c * k + c * c  # depthwise + pointwise
        norm = m * self.config.norm_frames  # the running mean's window sum
        return norm + m * c + len(self.blocks) * per_block + c


class KWSEnsemble(nn.Module):
    """Several :class:`KWSModel` runs whose wake posteriors are averaged frame by frame.

    Runs of one recipe that differ only in their seed disagree most on unheard voices, and
    averaging is the textbook way to lower that spread. For "hey nova" it lands between its
    members rather than above the better one (``experiments/results/kws_stop19.md``), so the
    shipped model is one run. It behaves as one model everywhere a :class:`KWSModel` is used:
    ``forward`` returns the logit of the mean posterior (so ``sigmoid`` gives the mean back),
    and ``step`` carries every member's state in one flat list, so streaming, ONNX export and
    checkpoints work unchanged.

    Args:
        members: each member's constructor arguments (as stored in its checkpoint).
    """

    def __init__(self, members: list[dict]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(KWSModel(**m) for m in members)
        self._states = [len(m.initial_state(1)) for m in self.members]  # per member, for step
        n_mels = {m.config.n_mels for m in self.members}
        if len(n_mels) > 1:
            raise ValueError(f"ensemble members read different feature sizes: {sorted(n_mels)}")

    @classmethod
    def of(cls, models: list[KWSModel]) -> KWSEnsemble:
        """An ensemble holding (copies of) trained ``models``' weights."""
        ens = cls([asdict(m.config) for m in models])
        for dst, src in zip(ens.members, models, strict=True):
            dst.load_state_dict(src.state_dict())
        return ens.eval()

    @property
    def config(self) -> KWSConfig:
        """The first member's settings (all members read the same features)."""
        return self.members[0].config

    @staticmethod
    def _mean_logit(logits: list[Tensor]) -> Tensor:
        return torch.logit(torch.stack([torch.sigmoid(x) for x in logits]).mean(0))

    def forward(self, feats: Tensor) -> Tensor:
        """feats: (B, T, n_mels) -> logit of the members' mean posterior (B, T)."""
        return self._mean_logit([m(feats) for m in self.members])

    def initial_state(self, batch: int = 1, device: torch.device | str = "cpu") -> list[Tensor]:
        return [s for m in self.members for s in m.initial_state(batch, device)]

    def step(self, frame: Tensor, state: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
        """One frame. frame: (B, n_mels) -> (logit of the mean posterior (B,), new state)."""
        logits, new_state, i = [], [], 0
        for m, n in zip(self.members, self._states, strict=True):
            logit, s = m.step(frame, state[i : i + n])
            logits.append(logit)
            new_state.extend(s)
            i += n
        return self._mean_logit(logits), new_state

    def num_parameters(self) -> int:
        return sum(m.num_parameters() for m in self.members)

    def macs_per_frame(self) -> int:
        return sum(m.macs_per_frame() for m in self.members)
