"""ONNX export of a wake-word checkpoint: its front end, whole-clip and streaming-step graphs.

    python -m speech.kws export [--model PATH] OUT_DIR

``frontend.onnx``: 16 kHz waveforms (B, S) in [-1, 1] -> log-mel frames (B, T, n_mels), the
checkpoint's own feature settings (frame t covers samples [t*hop, t*hop + n_fft)). On a
device, feed it the last ``n_fft`` samples every ``hop`` samples to get one frame.
``kws_audio.onnx``: waveforms (B, S) -> logits (B, T): front end and model in one graph.
``kws.onnx``: log-mel frames (B, T, n_mels) -> logits (B, T).
``kws_step.onnx``: one frame (B, n_mels) + per-block states -> logit (B,) + new states;
what a device runs every 10 ms. ``export.json`` beside the graphs holds the feature
settings, the state shapes and the operating point (threshold, smoothing, refractory).
The posterior is ``sigmoid(logit)`` averaged over the last ``smoothing`` frames.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from speech.data.features import FeatureConfig, LogMel
from speech.kws.model import KWSModel


class DFTLogMel(nn.Module):
    """:class:`~speech.data.features.LogMel` as real matrix products, which ONNX exports
    (``torch.stft``'s complex output does not): the window sits in a DFT basis applied to
    each ``n_fft``-sample frame, the power goes through the same mel filterbank and log.

    waves (B, S) -> (B, T, n_mels), equal to ``LogMel`` up to float rounding (tested).
    """

    def __init__(self, frontend: LogMel):
        super().__init__()
        n_fft, hop = frontend.n_fft, frontend.hop_length
        window = frontend.mel.spectrogram.window.float()
        full = torch.zeros(n_fft)
        left = (n_fft - window.numel()) // 2  # torch.stft centres a shorter window
        full[left : left + window.numel()] = window
        k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)[:, None]
        n = torch.arange(n_fft, dtype=torch.float64)[None]
        angle = 2 * torch.pi * k * n / n_fft
        self.register_buffer("cos", (torch.cos(angle) * full).float()[:, None, :])
        self.register_buffer("sin", (torch.sin(angle) * full).float()[:, None, :])
        self.register_buffer("fb", frontend.mel.mel_scale.fb.float())  # (freqs, n_mels)
        self.n_fft, self.hop, self.eps = n_fft, hop, frontend.eps

    def forward(self, waves: Tensor) -> Tensor:
        """waves: (B, S) with S >= n_fft -> (B, 1 + (S - n_fft) // hop, n_mels)."""
        x = waves[:, None, :]
        re = torch.nn.functional.conv1d(x, self.cos, stride=self.hop)
        im = torch.nn.functional.conv1d(x, self.sin, stride=self.hop)
        power = (re * re + im * im).transpose(1, 2)  # (B, T, freqs)
        return torch.log(power @ self.fb + self.eps)


class _Audio(nn.Module):
    def __init__(self, frontend: nn.Module, model: KWSModel):
        super().__init__()
        self.frontend, self.model = frontend, model

    def forward(self, waves: Tensor) -> Tensor:
        return self.model(self.frontend(waves))


class _Step(nn.Module):
    def __init__(self, model: KWSModel):
        super().__init__()
        self.model = model

    def forward(self, frame: Tensor, *state: Tensor):
        logit, new = self.model.step(frame, list(state))
        return (logit, *new)


def export_onnx(model: KWSModel, meta: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write ``frontend.onnx``, ``kws_audio.onnx``, ``kws.onnx``, ``kws_step.onnx`` and
    ``export.json``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    n_mels = model.config.n_mels
    state = model.initial_state(1)
    names = [f"state{i}" for i in range(len(state))]
    frontend = DFTLogMel(FeatureConfig(**(meta.get("features") or {})).build()).eval()
    audio = (torch.randn(1, 16000) * 0.1,)
    clip = {0: "batch", 1: "frames"}
    graphs = [  # (module, example inputs, file, input names, output names, dynamic axes)
        (frontend, audio, "frontend", ["waves"], ["feats"], {"waves": clip, "feats": clip}),
        (
            _Audio(frontend, model),
            audio,
            "kws_audio",
            ["waves"],
            ["logits"],
            {"waves": clip, "logits": clip},
        ),
        (
            model,
            (torch.randn(1, 50, n_mels),),
            "kws",
            ["feats"],
            ["logits"],
            {"feats": clip, "logits": clip},
        ),
        (
            _Step(model),
            (torch.randn(1, n_mels), *state),
            "kws_step",
            ["frame", *names],
            ["logit", *[f"new_{n}" for n in names]],
            None,
        ),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation chatter
        for module, example, name, inputs, outputs, axes in graphs:
            torch.onnx.export(
                module.eval(),
                example,
                out / f"{name}.onnx",
                input_names=inputs,
                output_names=outputs,
                dynamic_axes=axes,
                opset_version=17,
                dynamo=False,
            )
    card = {
        "inputs": {
            "frontend.onnx": "waves (batch, samples) float in [-1, 1] at 16 kHz, >= n_fft samples",
            "kws_audio.onnx": "waves (batch, samples) float in [-1, 1] at 16 kHz, >= n_fft samples",
            "kws.onnx": "feats (batch, frames, n_mels) log-mel",
            "kws_step.onnx": "frame (1, n_mels) and states (1, channels, context_i), zeros at start",
        },
        "frontend": {"n_fft": frontend.n_fft, "hop": frontend.hop},
        "state_shapes": [list(s.shape) for s in state],
        "features": meta.get("features"),
        "extra": meta.get("extra"),
    }
    (out / "export.json").write_text(json.dumps(card, indent=1))
    return {
        "frontend": out / "frontend.onnx",
        "audio": out / "kws_audio.onnx",
        "clip": out / "kws.onnx",
        "step": out / "kws_step.onnx",
        "card": out / "export.json",
    }
