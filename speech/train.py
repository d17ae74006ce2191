"""The shared training loop (wake word now, recognizer next), as a Hydra app.

    python -m speech.train                                   # task=kws on data=default, CPU
    python -m speech.train trainer=gpu                       # CUDA + mixed precision
    torchrun --nproc_per_node=2 -m speech.train trainer=ddp  # DDP (gloo on CPU, nccl on GPU)
    python -m speech.train +experiment=hey_jarvis            # a named experiment
    python -m speech.train trainer.resume=true               # continue from outputs/.../last.pt
    python -m speech.train trainer.init_from=models/x.pt     # fine-tune a checkpoint

The corpus named by ``data`` is built first if needed (instantly reused when it exists).
Outputs: ``<out_dir>/best.pt`` (the inference checkpoint), ``last.pt`` (resumable state),
``tb/`` (TensorBoard), ``metrics.json``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from speech.checkpoint import CheckpointError, read_checkpoint, save_checkpoint

log = logging.getLogger(__name__)


@dataclass
class TrainerConfig:
    """How to train; the task decides what.

    Attributes:
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        amp: mixed precision on CUDA (bf16 where supported, else fp16 with a grad scaler).
        max_epochs, patience: stop after ``patience`` epochs without a better dev score.
        lr, weight_decay, warmup_steps, grad_clip: AdamW with warm-up and cosine decay.
        threads: CPU threads for torch (0 = leave torch's default).
        num_workers: DataLoader worker processes.
        resume: continue from ``last.pt`` in the output folder when it exists.
        init_from: start from this checkpoint's weights (fine-tuning: a new optimizer and
            schedule, the checkpoint's input normalisation); ignored when resuming.
        select: which epoch ``best.pt`` keeps: ``dev`` (the best dev score) or ``last`` (the
            final epoch, for a final fit whose dev set is trained on and so cannot choose;
            the epoch budget then comes from an earlier run). Early stopping needs ``dev``.
        ema: decay of an exponential moving average of the weights, updated every step
            (0 = off). When on, the average is what is validated and saved as ``best.pt``:
            it smooths the step-to-step noise of small, heavily augmented data sets.
        snapshot_every: also keep the judged weights of every N-th epoch as
            ``epoch-NNN.pt`` (an inference checkpoint like ``best.pt``; 0 = off), to score a
            run's trajectory on held-out data afterwards.
    """

    device: str = "auto"
    amp: bool = False
    max_epochs: int = 20
    patience: int = 4
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip: float = 5.0
    threads: int = 0
    num_workers: int = 0
    resume: bool = False
    init_from: str | None = None
    select: str = "dev"
    ema: float = 0.0
    progress: bool = True
    seed: int = 0
    snapshot_every: int = 0

    def __post_init__(self) -> None:
        if self.select not in ("dev", "last"):
            raise ValueError(f"trainer.select={self.select!r}: use 'dev' or 'last'")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"trainer.ema={self.ema}: needs 0 <= ema < 1 (0 = off)")
        if self.snapshot_every < 0:
            raise ValueError(f"trainer.snapshot_every={self.snapshot_every}: needs >= 0 (0 = off)")


def _dist() -> tuple[int, int, int]:
    """(rank, local rank, world size) from torchrun's environment."""
    return (
        int(os.environ.get("RANK", 0)),
        int(os.environ.get("LOCAL_RANK", 0)),
        int(os.environ.get("WORLD_SIZE", 1)),
    )


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def fit(task, cfg: TrainerConfig, out_dir: str | os.PathLike) -> dict[str, Any]:
    """Train ``task``'s model; returns the best dev metrics. Works under torchrun too."""
    out = Path(out_dir)
    rank, local_rank, world = _dist()
    if cfg.device == "auto":
        device = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(cfg.device if cfg.device != "cuda" else f"cuda:{local_rank}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("trainer.device=cuda but no CUDA device is visible; use trainer=cpu")
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    _seed(cfg.seed + rank)
    main = rank == 0
    out.mkdir(parents=True, exist_ok=True)

    model = task.build_model().to(device)
    train_loader, dev_loader = task.loaders(ddp=world > 1, num_workers=cfg.num_workers)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = max(1, cfg.max_epochs * len(train_loader))

    def lr_at(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    use_amp = cfg.amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and amp_dtype == torch.float16)

    start_epoch, best, bad_epochs, history = 0, None, 0, []
    last = out / "last.pt"
    state: dict[str, Any] | None = None
    if cfg.resume and last.exists():
        state = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start_epoch, best, bad_epochs, history = (
            state["epoch"] + 1,
            state["best"],
            state["bad_epochs"],
            state["history"],
        )
        if main:
            log.info("resumed from %s at epoch %d", last, start_epoch)
    elif cfg.init_from:
        init_weights(model, cfg.init_from)
        if main:
            log.info("fine-tuning from %s", cfg.init_from)
    elif hasattr(task, "init_model"):
        task.init_model(model, train_loader)
    if world > 1:
        for buf in model.buffers():  # every rank starts from rank 0's normalisation
            torch.distributed.broadcast(buf, 0)
    net: nn.Module = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    ema = None
    if cfg.ema > 0:  # after init/resume, so the average starts from the loaded weights
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
        if state is not None and "ema" in state:
            ema.load_state_dict(state["ema"])
    judged = ema.module if ema is not None else model  # what is validated and saved

    writer = None
    if main:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(out / "tb")
    step = start_epoch * len(train_loader)
    for epoch in range(start_epoch, cfg.max_epochs):
        train_loader.batch_sampler.set_epoch(epoch)
        if hasattr(train_loader.dataset, "epoch"):
            train_loader.dataset.epoch = epoch
        net.train()
        started, seen, running = time.time(), 0, 0.0
        bar = tqdm(
            train_loader, desc=f"epoch {epoch}", disable=not (main and cfg.progress), leave=False
        )
        for batch in bar:
            batch = batch.to(device)
            ctx = torch.autocast("cuda", dtype=amp_dtype) if use_amp else nullcontext()
            with ctx:
                loss, _ = task.loss(net, batch)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            seen += len(batch.ids)
            running = 0.98 * running + 0.02 * loss.item() if running else loss.item()
            bar.set_postfix(loss=f"{running:.4f}")
            if writer is not None and step % 10 == 0:
                writer.add_scalar("train/loss", loss.item(), step)
                writer.add_scalar("train/lr", sched.get_last_lr()[0], step)
        clips_per_s = seen * world / (time.time() - started)
        if not main:
            if world > 1:
                torch.distributed.barrier()
            continue
        net.eval()
        judged.eval()
        metrics = task.validate(judged, dev_loader, device)
        metrics.update(
            epoch=epoch, train_loss=round(running, 5), clips_per_second=round(clips_per_s, 1)
        )
        history.append(metrics)
        for k, v in metrics.items():
            if isinstance(v, float):
                writer.add_scalar(f"dev/{k}", v, step)
        improved = best is None or metrics["score"] > best["score"] or cfg.select == "last"
        meta = task.checkpoint_meta(metrics)
        if improved:
            best, bad_epochs = metrics, 0
            save_checkpoint(out / "best.pt", judged, metrics=metrics, **meta)
        else:
            bad_epochs += 1
        if cfg.snapshot_every and (epoch + 1) % cfg.snapshot_every == 0:
            save_checkpoint(out / f"epoch-{epoch:03d}.pt", judged, metrics=metrics, **meta)
        log.info(
            "epoch %d: %s%s",
            epoch,
            {k: (round(v, 4) if isinstance(v, float) else v) for k, v in metrics.items()},
            (" (kept)" if cfg.select == "last" else " (best)") if improved else "",
        )
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "epoch": epoch,
                "best": best,
                "bad_epochs": bad_epochs,
                "history": history,
                **({"ema": ema.state_dict()} if ema is not None else {}),
            },
            last.with_suffix(".tmp"),
        )
        os.replace(last.with_suffix(".tmp"), last)
        (out / "metrics.json").write_text(json.dumps({"best": best, "history": history}, indent=1))
        if world > 1:
            torch.distributed.barrier()
        if bad_epochs >= cfg.patience:
            log.info("early stop: no better dev score for %d epochs", bad_epochs)
            break
    if writer is not None:
        writer.close()
    if world > 1:
        torch.distributed.destroy_process_group()
    return best or {}


def init_weights(model: nn.Module, path: str | os.PathLike) -> None:
    """Load a checkpoint's weights into ``model``, which must have the same shape."""
    payload = read_checkpoint(path)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{path}: its weights do not fit this model ({exc}); "
            "fine-tune with the model preset the checkpoint was trained with"
        ) from exc


def model_arguments(model_cfg) -> dict[str, Any]:
    """A model config group's constructor arguments (its ``_target_`` dropped: the task builds it)."""
    from omegaconf import OmegaConf

    args = OmegaConf.to_container(model_cfg, resolve=True)
    args.pop("_target_", None)
    return args


def _main() -> None:
    """Entry point of `python -m speech.train` and `sottovoce-train`."""
    import hydra
    from hydra.utils import instantiate, to_absolute_path
    from omegaconf import DictConfig

    from speech.data.build import build_corpus

    @hydra.main(version_base="1.3", config_path="../conf", config_name="train")
    def run(cfg: DictConfig) -> None:
        spec = instantiate(cfg.data, _convert_="all")
        corpus, _ = build_corpus(
            spec, to_absolute_path(cfg.out_root), workers=cfg.workers, progress=True
        )
        model_args = model_arguments(cfg.model)
        task = instantiate(
            cfg.task, manifest=corpus / "manifest.jsonl", model=model_args, _convert_="all"
        )
        trainer = instantiate(cfg.trainer)
        if trainer.init_from:
            trainer.init_from = to_absolute_path(trainer.init_from)
        out = Path(to_absolute_path(cfg.out_dir))
        best = fit(task, trainer, out)
        if _dist()[0] == 0:
            print(json.dumps({"checkpoint": str(out / "best.pt"), "best": best}, indent=1))

    run()


if __name__ == "__main__":
    _main()
