"""Checkpoints that carry everything inference needs (DESIGN.md, "Checkpoint").

A checkpoint file holds the weights, the model's class and constructor arguments, the
feature settings and the vocabulary (if any), plus task settings such as the wake phrase
and its operating threshold. ``load_model`` rebuilds the model from the file alone.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

FORMAT = "sottovoce-checkpoint/1"


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or not one of ours; the message says which and why."""


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    task: str,
    model_args: dict[str, Any],
    features: dict[str, Any],
    vocab: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write atomically (a crash mid-save never leaves a truncated checkpoint)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cls = type(model)
    payload = {
        "format": FORMAT,
        "task": task,
        "model_class": f"{cls.__module__}.{cls.__qualname__}",
        "model_args": model_args,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "features": features,
        "vocab": vocab,
        "extra": extra or {},
        "metrics": metrics or {},
    }
    return write_checkpoint(payload, path)


def write_checkpoint(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write a checkpoint payload (as :func:`read_checkpoint` returns it) atomically."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: no checkpoint here; train one with `python -m speech.train` "
            "or pass --model with an existing file"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc}); "
            "it may be truncated: re-train or re-download it"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a sottovoce checkpoint (expected format {FORMAT})")
    return payload


def load_model(
    path: str | os.PathLike, *, task: str | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model in eval mode; returns it with the checkpoint's metadata (no weights)."""
    payload = read_checkpoint(path)
    if task is not None and payload["task"] != task:
        raise CheckpointError(
            f"{path}: a {payload['task']} checkpoint, but a {task} model was asked for"
        )
    return build_model(payload), payload


def build_model(payload: dict[str, Any]) -> nn.Module:
    """The model a read checkpoint describes, in eval mode; its weights leave ``payload``."""
    module, _, name = payload["model_class"].rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    model = cls(**payload["model_args"])
    model.load_state_dict(payload.pop("state_dict"))
    return model.eval()


def half_precision_copy(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write ``src`` with its floating-point weights stored as float16 (half the size).

    For shipping under ``models/``: :func:`load_model` loads the weights back into the
    float32 model, so only their rounding changes; measure a shipped model after this step.
    """
    payload = read_checkpoint(src)
    payload["state_dict"] = {
        k: v.half() if v.is_floating_point() else v for k, v in payload["state_dict"].items()
    }
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    return write_checkpoint(payload, dst)
