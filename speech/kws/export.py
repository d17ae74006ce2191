"""ONNX export of a wake-word checkpoint: whole-clip and streaming-step graphs.

    python -m speech.kws export [--model PATH] OUT_DIR

``kws.onnx``: log-mel frames (B, T, n_mels) -> logits (B, T).
``kws_step.onnx``: one frame (B, n_mels) + per-block states -> logit (B,) + new states;
what a device runs every 10 ms. Feature settings and the operating point stay in the
checkpoint's card (``export.json`` beside the graphs).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from speech.kws.model import KWSModel


class _Step(nn.Module):
    def __init__(self, model: KWSModel):
        super().__init__()
        self.model = model

    def forward(self, frame: Tensor, *state: Tensor):
        logit, new = self.model.step(frame, list(state))
        return (logit, *new)


def export_onnx(model: KWSModel, meta: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write ``kws.onnx``, ``kws_step.onnx`` and ``export.json``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    n_mels = model.config.n_mels
    state = model.initial_state(1)
    names = [f"state{i}" for i in range(len(state))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation chatter
        torch.onnx.export(
            model,
            (torch.randn(1, 50, n_mels),),
            out / "kws.onnx",
            input_names=["feats"],
            output_names=["logits"],
            dynamic_axes={"feats": {0: "batch", 1: "frames"}, "logits": {0: "batch", 1: "frames"}},
            opset_version=17,
            dynamo=False,
        )
        torch.onnx.export(
            _Step(model).eval(),
            (torch.randn(1, n_mels), *state),
            out / "kws_step.onnx",
            input_names=["frame", *names],
            output_names=["logit", *[f"new_{n}" for n in names]],
            opset_version=17,
            dynamo=False,
        )
    card = {
        "inputs": {
            "kws.onnx": "feats (batch, frames, n_mels) log-mel",
            "kws_step.onnx": "frame (1, n_mels) and states (1, channels, context_i), zeros at start",
        },
        "state_shapes": [list(s.shape) for s in state],
        "features": meta.get("features"),
        "extra": meta.get("extra"),
    }
    (out / "export.json").write_text(json.dumps(card, indent=1))
    return {"clip": out / "kws.onnx", "step": out / "kws_step.onnx", "card": out / "export.json"}
