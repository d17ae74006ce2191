"""Training throughput of the shared loop (:func:`speech.train.fit`), in clips per second.

Each model config is trained for a few epochs on one corpus, on each device: ``cpu`` with
``trainer=cpu`` (fp32) and ``cuda`` with ``trainer=gpu`` (mixed precision: bf16 where the card
has it). Task and trainer settings (batch seconds, augmentation, data-loader workers) are the
ones ``python -m speech.train`` composes, so the figures are those of a real run; only the
recognizer's language model is left out (it is built for the checkpoint, after training, and
does not change the loop). The figure is the median of the clips/s that ``fit`` records for
every epoch after the first (the first carries the one-off warm-up: worker start, CUDA
kernels), measured over the training batches only (validation is not timed).

    python -m speech.data.synth data=tiny data.name=gpubench data.n_wake=300 \\
        data.n_negative=300 data.n_requests=300 data.stream_hours=0.02 workers=1
    python -m experiments.bench.train_throughput --corpus corpora/gpubench-b2c7f2e9 \\
        [--devices cpu,cuda] [--epochs 3] [--repeat cpu=1,cuda=20] [--threads 1] \\
        [--out experiments/bench/results]

``--repeat R`` (or per device, ``cpu=R1,cuda=R2``) lengthens each epoch without more audio:
training reads a temporary manifest that lists every training utterance R times (the copies
get their own ids and the corpus's absolute audio paths; dev is listed once), so an epoch
trains R times as many clips, each one read, decoded, cropped and augmented afresh like any
other. A GPU epoch on a few hundred clips lasts under a second and its clips/s swings with
the loader's start and stalls; repeated 16 times on an H200, epochs last 2-7 s and agree
within 3-33% instead of 3.5x.

Writes ``train_throughput_<label>.{json,md}`` (the label defaults to the GPU's name, or
``cpu-<N>core`` without one), with the GPU/CPU ratio per config measured in the same run.
The stored results came from ``--devices cpu,cuda --epochs 4 --repeat cpu=1,cuda=16`` on an
H200 machine (``nvidia-h200``; its table gives epoch lengths and spread); ``make bench`` writes
``train_throughput_cpu`` on the machine it runs on (``--devices cpu --label cpu``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
# Model config (conf/model/<name>.yaml) -> the task that trains it.
CONFIGS = {"kws_small": "kws", "kws_large": "kws", "asr_tiny": "asr", "asr_small": "asr"}


def _compose(task: str, model: str, device: str):
    from hydra import compose, initialize_config_dir

    trainer = "gpu" if device == "cuda" else "cpu"
    overrides = [f"task={task}", f"model={model}", f"trainer={trainer}"]
    if task == "asr":  # the checkpoint's LM: built after training, not part of the loop
        overrides.append("task.lm_sentences=0")
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def repeated_manifest(corpus: Path, repeat: int, out: Path) -> Path:
    """Write ``out/manifest.jsonl``: the corpus's, with every ``train`` line listed ``repeat``
    times (copies after the first get the id suffix ``~r<k>``) and audio paths made absolute,
    so the copy reads the corpus's own audio from anywhere. Returns its path."""
    from speech.data.manifest import audio_path, read_manifest, write_manifest

    source = corpus / "manifest.jsonl"
    lines = []
    for u in read_manifest(source):
        u = dataclasses.replace(u, audio=str(audio_path(source, u)))
        lines.append(u)
        if u.split == "train":
            lines += [dataclasses.replace(u, id=f"{u.id}~r{k}") for k in range(1, repeat)]
    write_manifest(out / "manifest.jsonl", lines)
    return out / "manifest.jsonl"


def measure_one(
    corpus: Path,
    model: str,
    device: str,
    *,
    epochs: int,
    threads: int,
    workers: int | None,
    repeat: int = 1,
) -> dict:
    """Train ``model`` (a conf/model name) for ``epochs`` on ``device``; its throughput.

    ``repeat``: each training utterance appears that many times per epoch
    (:func:`repeated_manifest`)."""
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, not {repeat}")
    with tempfile.TemporaryDirectory() as tmp:
        manifest = corpus / "manifest.jsonl"
        if repeat > 1:
            manifest = repeated_manifest(corpus, repeat, Path(tmp))
        return _measure_one(corpus, manifest, model, device, epochs, threads, workers, repeat)


def _measure_one(corpus, manifest, model, device, epochs, threads, workers, repeat) -> dict:
    from hydra.utils import instantiate

    from speech.train import TrainerConfig, build_task, fit

    cfg = _compose(CONFIGS[model], model, device)
    wake_phrase = json.loads((corpus / "spec.json").read_text())["wake_phrase"]
    task = build_task(cfg.task, cfg.model, manifest, wake_phrase=wake_phrase)
    trainer: TrainerConfig = instantiate(cfg.trainer)
    trainer = dataclasses.replace(
        trainer,
        device=device,
        max_epochs=epochs,
        patience=epochs + 1,  # every epoch runs
        progress=False,
        threads=threads or trainer.threads,
        num_workers=trainer.num_workers if workers is None else workers,
    )
    parameters = sum(p.numel() for p in task.build_model().parameters())
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        fit(
            task,
            trainer,
            tmp,
            optimizer=instantiate(cfg.optimizer),
            scheduler=instantiate(cfg.scheduler),
        )
        wall = time.perf_counter() - started
        history = json.loads((Path(tmp) / "metrics.json").read_text())["history"]
    per_epoch = [h["clips_per_second"] for h in history]
    timed = per_epoch[1:] or per_epoch  # one epoch only: warm-up included
    train_clips = len(task.datasets()[0])
    median = statistics.median(timed)
    return {
        "task": CONFIGS[model],
        "model": model,
        "device": device,
        "amp": bool(trainer.amp and device == "cuda"),
        "threads": torch.get_num_threads(),
        "num_workers": trainer.num_workers,
        "batch_seconds": task.batch_seconds,
        "parameters": parameters,
        "repeat": repeat,
        "train_clips_per_epoch": train_clips,
        "epochs": len(per_epoch),
        "clips_per_second_per_epoch": per_epoch,
        "clips_per_second": round(median, 1),
        # (max - min) / median of the timed epochs: how far one epoch strays from the figure
        "spread": round((max(timed) - min(timed)) / median, 3) if median else None,
        "seconds_per_timed_epoch": round(train_clips / median, 2) if median else None,
        "warmup_included": len(per_epoch) < 2,
        "wall_seconds": round(wall, 1),
    }


def measure(
    corpus: str | os.PathLike,
    *,
    devices: list[str],
    models: list[str],
    epochs: int = 3,
    threads: int = 0,
    workers: int | None = None,
    repeat: int | dict[str, int] = 1,
    on_model: Callable[[dict], None] | None = None,
    note: str | None = None,
) -> dict:
    """Throughput of every model config on every device; a JSON-ready report.

    Args:
        corpus: a built corpus folder (``manifest.jsonl``, ``spec.json``).
        devices: ``cpu`` and/or ``cuda``.
        models: conf/model names among :data:`CONFIGS`.
        epochs: epochs per run; the first is left out of the figure when there are more.
        threads: torch CPU threads (0: the trainer config's, else torch's default).
        workers: data-loader workers (None: the trainer config's).
        repeat: copies of each training utterance per epoch, one number or per device
            (``{"cpu": 1, "cuda": 20}``; a device left out gets 1).
        on_model: called with the report so far after each model config.
        note: free text kept with the figures (the machine's load, where the corpus came from).
    """
    corpus = Path(corpus)
    if not (corpus / "manifest.jsonl").exists() or not (corpus / "spec.json").exists():
        raise FileNotFoundError(
            f"{corpus}: no corpus there (manifest.jsonl and spec.json expected); build one with "
            "python -m speech.data.synth data=tiny data.name=gpubench ... and pass its folder "
            "corpora/gpubench-<hash> as --corpus"
        )
    unknown = sorted(set(models) - set(CONFIGS))
    if unknown:
        raise ValueError(f"unknown model configs {unknown}; choose from {sorted(CONFIGS)}")
    for d in devices:
        if d not in ("cpu", "cuda"):
            raise ValueError(f"device {d!r}: use cpu and/or cuda")
    repeats = {d: repeat.get(d, 1) if isinstance(repeat, dict) else repeat for d in devices}
    bad = {d: r for d, r in repeats.items() if not isinstance(r, int) or r < 1}
    if bad or (isinstance(repeat, dict) and set(repeat) - set(devices)):
        raise ValueError(f"repeat {repeat!r}: whole numbers >= 1 for devices among {devices}")
    if "cuda" in devices and not torch.cuda.is_available():
        raise RuntimeError("--devices names cuda but no CUDA device is visible; use --devices cpu")
    report = {
        "corpus": corpus.name,
        "epochs": epochs,
        "repeat": repeats,
        "metric": "median clips/s of the training batches over the epochs after the first",
        "host": {
            "cpu": _cpu_name(),
            "cpu_count": os.cpu_count(),
            "gpu": torch.cuda.get_device_name(0) if "cuda" in devices else None,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "results": [],
        "gpu_over_cpu": {},
    }
    if note:
        report["note"] = note
    for model in models:
        for device in devices:
            row = measure_one(
                corpus,
                model,
                device,
                epochs=epochs,
                threads=threads,
                workers=workers,
                repeat=repeats[device],
            )
            print(
                f"{model:10s} {device:5s} {row['clips_per_second']:8.1f} clips/s "
                f"(epochs {row['clips_per_second_per_epoch']}, spread {row['spread']}, "
                f"{row['train_clips_per_epoch']} clips/epoch, {row['wall_seconds']} s)",
                flush=True,
            )
            report["results"].append(row)
        if {"cpu", "cuda"} <= set(devices):
            by = {
                r["device"]: r["clips_per_second"] for r in report["results"] if r["model"] == model
            }
            report["gpu_over_cpu"][model] = round(by["cuda"] / by["cpu"], 2)
        if on_model is not None:  # a partial report survives a run cut short
            on_model(report)
    return report


def default_label(report: dict) -> str:
    gpu = report["host"]["gpu"]
    name = gpu if gpu else f"cpu-{report['host']['cpu_count']}core"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def markdown(report: dict) -> str:
    h = report["host"]
    devices = list(dict.fromkeys(r["device"] for r in report["results"]))
    by = {(r["model"], r["device"]): r for r in report["results"]}
    models = list(dict.fromkeys(r["model"] for r in report["results"]))
    first = {d: next(r for r in report["results"] if r["device"] == d) for d in devices}
    lines = [
        f"# Training throughput of `speech.train.fit` ({report['corpus']})",
        "",
        f"- CPU: {h['cpu']}, {h['cpu_count']} cores visible, "
        f"torch threads: {first['cpu']['threads'] if 'cpu' in first else '-'}, fp32",
    ]
    if h["gpu"]:
        lines.append(f"- GPU: {h['gpu']}, mixed precision (`trainer=gpu`)")
    repeats = report.get("repeat") or {}
    lines += [
        f"- torch {h['torch']}, Python {h['python']}; {report['epochs']} epochs per run, "
        f"{report['metric']}",
        *(
            [
                "- training utterances repeated per epoch: "
                + ", ".join(f"{d} x{r}" for d, r in repeats.items())
            ]
            if any(r > 1 for r in repeats.values())
            else []
        ),
        *([f"- note: {report['note']}"] if report.get("note") else []),
        "",
        "epoch: training clips per epoch, seconds per timed epoch, and the spread of the timed "
        "epochs' clips/s, (max - min) / median",
        "",
        "| model | parameters | "
        + " | ".join(f"{d} clips/s | {d} epoch" for d in devices)
        + (" | GPU/CPU |" if report["gpu_over_cpu"] else " |"),
        "| --- | ---: | "
        + " | ".join("---: | ---:" for _ in devices)
        + (" | ---: |" if report["gpu_over_cpu"] else " |"),
    ]

    def epoch(row: dict) -> str:
        text = f"{row['train_clips_per_epoch']} clips"
        if row.get("seconds_per_timed_epoch") is not None:
            text += f", {row['seconds_per_timed_epoch']:.1f} s"
        if row.get("spread") is not None:
            text += f", {row['spread']:.0%}"
        return text

    for m in models:
        any_row = next(by[m, d] for d in devices)
        cells = [f"{by[m, d]['clips_per_second']:.1f} | {epoch(by[m, d])}" for d in devices]
        ratio = f" | {report['gpu_over_cpu'][m]:.2f} |" if report["gpu_over_cpu"] else " |"
        lines.append(f"| {m} | {any_row['parameters']:,} | " + " | ".join(cells) + ratio)
    return "\n".join(lines) + "\n"


def parse_repeat(text: str) -> int | dict[str, int]:
    """``--repeat``: ``20`` (every device) or ``cpu=1,cuda=20``."""
    try:
        if "=" not in text:
            return int(text)
        pairs = (item.split("=", 1) for item in text.split(",") if item.strip())
        return {d.strip(): int(r) for d, r in pairs}
    except ValueError:
        raise ValueError(f"--repeat {text!r}: a number, or device=number pairs") from None


def write_report(report: dict, out: str | os.PathLike, label: str | None = None) -> Path:
    """Write ``train_throughput_<label>.json`` and ``.md`` into ``out``; the JSON's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"train_throughput_{label or default_label(report)}"
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / f"{stem}.md").write_text(markdown(report))
    return out / f"{stem}.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, required=True, help="a built corpus folder")
    ap.add_argument(
        "--devices", default="auto", help="cpu,cuda (auto: cpu, plus cuda when visible)"
    )
    ap.add_argument("--models", default=",".join(CONFIGS), help="conf/model names, comma-separated")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument(
        "--repeat",
        default="1",
        help="copies of each training utterance per epoch: R, or per device cpu=R1,cuda=R2",
    )
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--workers", type=int, default=None, help="data-loader workers")
    ap.add_argument("--note", default=None, help="free text stored with the figures")
    ap.add_argument("--label", default=None, help="file-name label (default: GPU or CPU count)")
    ap.add_argument("--out", type=Path, default=ROOT / "experiments" / "bench" / "results")
    args = ap.parse_args()
    if args.devices == "auto":
        devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    else:
        devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    try:
        repeat = parse_repeat(args.repeat)
        report = measure(
            args.corpus,
            devices=devices,
            models=[m.strip() for m in args.models.split(",") if m.strip()],
            epochs=args.epochs,
            threads=args.threads,
            workers=args.workers,
            repeat=repeat,
            on_model=lambda partial: write_report(partial, args.out, args.label),
            note=args.note,
        )
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        sys.exit(str(exc))
    path = write_report(report, args.out, args.label)
    print(markdown(report))
    print(f"written: {path} and {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
