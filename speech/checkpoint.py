"""Checkpoints that carry everything inference needs (DESIGN.md, "Checkpoint").

A checkpoint file holds the weights, the model's class and constructor arguments, the
feature settings and the vocabulary (if any), plus task settings such as the wake phrase
and its operating threshold. ``load_model`` rebuilds the model from the file alone.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from speech.files import atomic_path

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
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: no checkpoint here; train one with `python -m speech.train` "
            "or name an existing checkpoint file"
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


def model_class(target: str) -> type[nn.Module]:
    """The class a ``package.module.Class`` path names (a model config's ``_target_``)."""
    module, _, name = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise CheckpointError(f"no model class {target!r} ({exc})") from exc


def construct(
    target: str, args: dict[str, Any], *, kind: type | None = None, wrong_kind: str = ""
) -> nn.Module:
    """The one place a model is built: ``target`` (``package.module.Class``) called with
    ``args``. Training builds from a model config's ``_target_``, inference from a
    checkpoint's ``model_class``; both come here. With ``kind``, a target that is not a
    subclass of it is refused before anything is built, with ``wrong_kind`` as the message
    (the caller knows which presets would fit); errors of the constructor itself pass as
    they are."""
    cls = model_class(target)
    if kind is not None and not (isinstance(cls, type) and issubclass(cls, kind)):
        raise ValueError(wrong_kind or f"{target} is not a {kind.__module__}.{kind.__qualname__}")
    return cls(**args)


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside DDP's (``.module``) or Opacus's (``._module``) wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_module", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


# Constructor arguments that checkpoints written before a model option was retired still
# carry: dropped when the value is the neutral one (None: any value), refused otherwise.
_RETIRED_ARGS = {"preset": None, "ctc_vocab": 0}


def build_model(payload: dict[str, Any]) -> nn.Module:
    """The model a read checkpoint describes, in eval mode; its weights leave ``payload``."""
    args = dict(payload["model_args"])
    for key, neutral in _RETIRED_ARGS.items():
        if key not in args:
            continue
        if neutral is not None and args[key] != neutral:
            raise CheckpointError(
                f"this checkpoint uses the retired model option {key}={args[key]!r}; "
                "it cannot be loaded by this version"
            )
        del args[key]
    model = construct(payload["model_class"], args)
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
