"""Speaker-verification attackers, to measure what anonymization leaves of a voice.

Two embedding models:

* **Resemblyzer** 0.1.4 (a GE2E speaker encoder trained on thousands of real speakers; its
  weights ship in the wheel): the outside attacker.
* **SpeakerNet**: a small x-vector-like network the project trains on its own corpus voices:
  the attacker who can train on the same kind of audio (VoicePrivacy's semi-informed attacker
  is this network, or a linear back-end over Resemblyzer, trained on *anonymized* speech).

Scoring is the cosine between an enrolment embedding (the mean of a speaker's enrolment clips)
and each trial clip's embedding; :func:`eer` is the equal error rate over target and non-target
trials.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

SAMPLE_RATE = 16000


def eer(target: Sequence[float], nontarget: Sequence[float]) -> float:
    """The equal error rate: where false acceptance equals false rejection (interpolated)."""
    t, n = np.sort(np.asarray(target, float)), np.sort(np.asarray(nontarget, float))
    if not len(t) or not len(n):
        return float("nan")
    thresholds = np.unique(np.concatenate([t, n]))
    frr = np.searchsorted(t, thresholds, side="left") / len(t)  # targets below
    far = 1 - np.searchsorted(n, thresholds, side="left") / len(n)  # non-targets at or above
    i = int(np.argmin(np.abs(frr - far)))
    if i + 1 < len(thresholds) and (frr[i] - far[i]) * (frr[i + 1] - far[i + 1]) < 0:
        j = i + 1
        d = (far[i] - frr[i]) - (far[j] - frr[j])
        w = (far[i] - frr[i]) / d if d else 0.5
        return float(frr[i] + w * (frr[j] - frr[i]))
    return float((frr[i] + far[i]) / 2)


def trials(
    enrol: np.ndarray, enrol_spk: Sequence[str], test: np.ndarray, test_spk: Sequence[str]
) -> tuple[list[float], list[float]]:
    """Cosine scores of every test clip against every enrolled speaker (mean embedding)."""
    speakers = sorted(set(enrol_spk))
    means = np.stack([enrol[np.array(enrol_spk) == s].mean(0) for s in speakers])
    means /= np.linalg.norm(means, axis=1, keepdims=True) + 1e-9
    test = test / (np.linalg.norm(test, axis=1, keepdims=True) + 1e-9)
    scores = test @ means.T
    tgt, non = [], []
    for i, s in enumerate(test_spk):
        for j, e in enumerate(speakers):
            (tgt if s == e else non).append(float(scores[i, j]))
    return tgt, non


class Resemblyzer:
    """Resemblyzer's encoder on 16 kHz clips (its own silence trimming and normalisation)."""

    def __init__(self):
        try:
            from resemblyzer import VoiceEncoder
        except ImportError as e:
            raise RuntimeError(
                "the Resemblyzer attacker needs: pip install --no-deps resemblyzer==0.1.4 "
                "webrtcvad-wheels typing"
            ) from e
        self.encoder = VoiceEncoder("cpu", verbose=False)

    def __call__(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        from resemblyzer import preprocess_wav

        out = []
        for w in waves:
            x = preprocess_wav(np.asarray(w, np.float32), source_sr=SAMPLE_RATE)
            if len(x) < SAMPLE_RATE // 4:  # trimmed to almost nothing: embed the raw clip
                x = np.asarray(w, np.float32)
            out.append(self.encoder.embed_utterance(x))
        return np.stack(out)


def lda(x: np.ndarray, labels: Sequence[str], dims: int = 32) -> np.ndarray:
    """A linear discriminant projection (within-class whitened between-class directions):
    the semi-informed back-end over fixed embeddings. Returns the (features, dims) matrix."""
    labels = np.asarray(labels)
    classes = sorted(set(labels))
    mu = x.mean(0)
    sw = np.zeros((x.shape[1], x.shape[1]))
    sb = np.zeros_like(sw)
    for c in classes:
        xc = x[labels == c]
        d = xc - xc.mean(0)
        sw += d.T @ d
        m = (xc.mean(0) - mu)[:, None]
        sb += len(xc) * (m @ m.T)
    sw += 1e-3 * np.trace(sw) / len(sw) * np.eye(len(sw))
    vals, vecs = np.linalg.eig(np.linalg.solve(sw, sb))
    order = np.argsort(-vals.real)[: min(dims, len(classes) - 1)]
    return vecs[:, order].real


class SpeakerNet(nn.Module):
    """Log-mel frames -> 1-D convolutions -> mean and std pooling -> a 128-d embedding.

    Args:
        n_speakers: classes of the training head (the embedding is taken before it).
    """

    def __init__(self, n_speakers: int, n_mels: int = 40, channels: int = 128, dim: int = 128):
        super().__init__()
        self.n_mels = n_mels
        self.frames = nn.Sequential(
            nn.Conv1d(n_mels, channels, 5, padding=2),
            nn.GroupNorm(8, channels),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=2, dilation=2),
            nn.GroupNorm(8, channels),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=3, dilation=3),
            nn.GroupNorm(8, channels),
            nn.ReLU(),
        )
        self.embed = nn.Linear(2 * channels, dim)
        self.head = nn.Linear(dim, n_speakers)

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> (batch, n_mels, frames) log-mel, per-clip mean removed."""
        import torchaudio

        mel = torchaudio.transforms.MelSpectrogram(
            SAMPLE_RATE, n_fft=400, hop_length=160, n_mels=self.n_mels
        )(wave)
        x = torch.log(mel + 1e-6)
        return x - x.mean(-1, keepdim=True)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        h = self.frames(feats)
        return self.embed(torch.cat([h.mean(-1), h.std(-1)], dim=1))


def _crops(waves: Sequence[np.ndarray], seconds: float, rng: np.random.Generator) -> torch.Tensor:
    n = int(seconds * SAMPLE_RATE)
    out = np.zeros((len(waves), n), np.float32)
    for i, w in enumerate(waves):
        if len(w) > n:
            s = int(rng.integers(0, len(w) - n))
            out[i] = w[s : s + n]
        else:
            out[i, : len(w)] = w
    return torch.from_numpy(out)


def train_speaker_net(
    waves: Sequence[np.ndarray],
    speakers: Sequence[str],
    *,
    epochs: int = 30,
    seconds: float = 2.0,
    batch: int = 32,
    seed: int = 0,
) -> SpeakerNet:
    """Train :class:`SpeakerNet` to tell ``speakers`` apart from random crops of ``waves``."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    names = sorted(set(speakers))
    y = torch.tensor([names.index(s) for s in speakers])
    net = SpeakerNet(len(names))
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    for _ in range(epochs):
        order = rng.permutation(len(waves))
        for i in range(0, len(order), batch):
            idx = order[i : i + batch]
            x = net.features(_crops([waves[j] for j in idx], seconds, rng))
            loss = nn.functional.cross_entropy(net.head(net(x)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


@torch.no_grad()
def embed(net: SpeakerNet, waves: Sequence[np.ndarray]) -> np.ndarray:
    """Whole-clip embeddings, one clip at a time."""
    out = []
    for w in waves:
        x = torch.from_numpy(np.asarray(w, np.float32))[None]
        out.append(net(net.features(x))[0].numpy())
    return np.stack(out)
