"""The first two stages: the corpora, and the two models the later stages measure and use.

* ``corpus``: the held-out test set (``data``, ``data=demo`` by default: the voices the
  shipped models never heard, with a negative stream) and the federated population
  (``devices``: homes in noisy rooms, the same held-out voices). Built once into ``out_root``
  and reused (``speech.data.build``).
* ``models``: the shipped wake word and recognizer, or, with ``models.train=true`` and a
  missing checkpoint, the ones their CPU presets train
  (``python -m speech.train +experiment=kws_hey_nova`` / ``+experiment=asr_whisper_head``).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from hydra.utils import instantiate, to_absolute_path
from omegaconf import DictConfig

from experiments.pipeline.runner import Context, PipelineError, shown

# The CPU preset that trains each task's model, and where it writes its checkpoint.
PRESETS = {
    "kws": ("kws_hey_nova", "outputs/kws-hey-nova/best.pt"),
    "asr": ("asr_whisper_head", "outputs/asr-whisper-head/best.pt"),
}


ROLE = {"kws": "wake-word", "asr": "recognizer"}


def corpus(ctx: Context) -> dict[str, Any]:
    """Build (or find) the test set and the federated population."""
    from speech.data.build import build_corpus

    root = to_absolute_path(ctx.cfg.out_root)
    out = {}
    for role in ("data", "devices"):
        spec = instantiate(ctx.cfg[role], _convert_="all")
        folder, summary = build_corpus(spec, root, workers=ctx.cfg.workers, progress=ctx.progress)
        out[role] = {
            "name": spec.name,
            "folder": shown(folder),
            "manifest": shown(folder / "manifest.jsonl"),
            "reused": bool(summary.get("cached")),
            "build_seconds": summary["build_seconds"],
            "hours": summary["hours"],
            "clips": summary["clips"],
            "devices": summary["devices"]["count"],
            "speakers": {k: v["split"] for k, v in summary["speakers"].items()},
        }
    out["files"] = [out[r]["manifest"] for r in ("data", "devices")]
    return out


def file_hash(path: str | Path) -> str | None:
    """The first 16 hex digits of a file's SHA-256; None if there is no file."""
    p = Path(to_absolute_path(str(path)))
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with p.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def models_fingerprint(cfg: DictConfig) -> dict[str, str | None]:
    """The checkpoints' bytes are part of the key: a retrained model reruns what used it."""
    return {task: file_hash(cfg.models[task]) for task in PRESETS}


def check_models(cfg: DictConfig) -> None:
    """Fail before any work when a checkpoint is missing (and is not to be trained), is not
    a checkpoint, or is one of the other task's."""
    for task in PRESETS:
        path = Path(to_absolute_path(cfg.models[task]))
        if not path.is_file():
            if cfg.models.train:
                continue
            preset = PRESETS[task][0]
            raise PipelineError(
                f"models.{task}={cfg.models[task]}: no such checkpoint; point models.{task} at "
                f"one, or pass models.train=true to train it with its CPU preset "
                f"(python -m speech.train +experiment={preset})"
            )
        _read(path, task)
    second = cfg.escalate.redact.get("second_opinion")
    if second:
        path = Path(to_absolute_path(second))
        if not path.is_file():
            raise PipelineError(
                f"escalate.redact.second_opinion={second}: no such checkpoint; point it at a "
                f"recognizer checkpoint, or pass escalate.redact.second_opinion=null (Whisper alone)"
            )
        _read(path, "asr", name="escalate.redact.second_opinion")


def _read(path: Path, task: str, name: str | None = None) -> dict[str, Any]:
    from speech.checkpoint import CheckpointError, read_checkpoint

    name = name or f"models.{task}"
    try:
        payload = read_checkpoint(path)
    except CheckpointError as exc:
        raise PipelineError(f"{name}: {exc}") from None
    if payload["task"] != task:
        raise PipelineError(
            f"{name}={shown(path)}: this is a {ROLE[payload['task']]} checkpoint; "
            f"{name} needs a {ROLE[task]} one"
        )
    return payload


def models(ctx: Context) -> dict[str, Any]:
    """Load (or train) the wake word and the recognizer; describe each checkpoint."""
    out = {}
    for task, (preset, trained) in PRESETS.items():
        path = Path(to_absolute_path(ctx.cfg.models[task]))
        how = "loaded"
        if not path.is_file():
            overrides = list(ctx.cfg.models.train_overrides)
            path = Path(to_absolute_path(_trained_path(trained, overrides)))
            if not path.is_file():
                _train(preset, overrides, ctx.stage_dir / f"{task}.log")
            how = f"trained (python -m speech.train +experiment={preset})"
        payload = _read(path, task)
        params = sum(t.numel() for t in payload["state_dict"].values() if t.is_floating_point())
        out[task] = {
            "path": shown(path),
            "how": how,
            "sha256": file_hash(path),
            "model_class": payload["model_class"],
            "parameters": int(params),
            "threshold": payload["extra"].get("threshold"),
            "metrics": payload.get("metrics", {}),
        }
    out["files"] = [out[t]["path"] for t in PRESETS]
    return out


def checkpoint(ctx: Context, task: str) -> str:
    """The path of the ``models`` stage's checkpoint for ``task``, checked to hold the same
    bytes as when that stage read it: a model replaced during a run is an error, not a figure
    of the wrong model."""
    info = ctx.results["models"][task]
    if file_hash(info["path"]) != info["sha256"]:
        raise PipelineError(
            f"{info['path']} changed since the models stage read it (sha256 {info['sha256']}); "
            "run the same command again to measure the new one"
        )
    return info["path"]


def _trained_path(default: str, overrides: list[str]) -> str:
    """Where the preset writes its checkpoint: ``<out_dir>/best.pt``, out_dir overridable."""
    for o in overrides:
        if o.startswith("out_dir="):
            return str(Path(o.split("=", 1)[1]) / "best.pt")
    return default


def _train(preset: str, overrides: list[str], log: Path) -> None:
    cmd = [sys.executable, "-m", "speech.train", f"+experiment={preset}", *overrides]
    print(f"training: {' '.join(cmd[1:])} (log: {log})", file=sys.stderr, flush=True)
    with log.open("w") as f:
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text().strip().splitlines()[-1:] or ["no output"]
        raise PipelineError(f"python -m speech.train +experiment={preset} failed: {tail[0]}")
