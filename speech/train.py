"""Training: a per-epoch core that anyone can drive, and the driver that runs a whole fit.

    python -m speech.train                                   # task=kws on data=default, CPU
    python -m speech.train trainer=gpu                       # CUDA + mixed precision
    .venv/bin/torchrun --nproc_per_node=2 -m speech.train trainer=ddp   # DDP (gloo/nccl)
    python -m speech.train +experiment=kws_hey_nova          # a named experiment
    python -m speech.train trainer.resume=true               # continue from <out_dir>/last.pt
    python -m speech.train trainer.init_from=models/x.pt     # fine-tune a checkpoint
    python -m speech.train optimizer.lr=1e-3 scheduler.warmup_steps=50

Two layers:

* :func:`train_epoch` is the core: one pass over a loader with a model, an optimizer and a
  task's loss, all passed in. It writes no files and builds nothing, so a Flower client can
  call it once per round and Opacus can wrap its arguments (``PrivacyEngine.make_private``
  returns a model, optimizer and Poisson-sampling loader that it takes as they are; with
  ``grad_clip=0`` per-sample clipping is the optimizer's business).
* :func:`fit` is the driver: it builds the model (from its config's ``_target_``), the
  optimizer and the schedule (from config ``_partial_`` targets), and keeps checkpoints,
  TensorBoard logs, DDP, resume, weight averaging and early stopping.

Outputs of ``fit``: ``<out_dir>/best.pt`` (the inference checkpoint), ``last.pt`` (resumable
state), ``tb/`` (TensorBoard), ``metrics.json``, ``config.yaml`` (the composed config).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import random
import time
import typing
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from speech.checkpoint import CheckpointError, read_checkpoint, save_checkpoint, unwrap
from speech.data.dataset import Batch
from speech.files import atomic_path

log = logging.getLogger(__name__)

OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[..., torch.optim.lr_scheduler.LRScheduler]


class TrainingError(RuntimeError):
    """A run cannot start or go on as configured; the message says why and what to do."""


class Task(Protocol):
    """What the trainer needs from a task plug-in (``speech.kws.task``, ``speech.asr.task``)."""

    name: str

    def build_model(self) -> nn.Module: ...

    def loaders(self, *, ddp: bool, num_workers: int) -> tuple[Any, Any]: ...

    def loss(
        self, model: nn.Module, batch: Batch, *, per_sample: bool = False
    ) -> tuple[torch.Tensor, dict[str, float]]: ...

    def validate(self, model: nn.Module, loader, device) -> dict[str, float]: ...

    def checkpoint_meta(self, metrics: dict[str, float]) -> dict[str, Any]: ...


@dataclass
class TrainerConfig:
    """How to train; the task decides what, the optimizer and scheduler groups with what step.

    Attributes:
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        amp: mixed precision on CUDA (bf16 where supported, else fp16 with a grad scaler).
        max_epochs, patience: stop after ``patience`` epochs without a better dev score.
        grad_clip: global gradient-norm clip (0 = off; leave it off under DP-SGD, which clips
            each example's gradient itself).
        threads: CPU threads for torch (0 = leave torch's default).
        num_workers: DataLoader worker processes.
        resume: continue from ``last.pt`` in the output folder (an error when there is none).
        init_from: start from this checkpoint's weights (fine-tuning: a new optimizer and
            schedule, the checkpoint's input normalisation); ignored when resuming.
        select: which epoch ``best.pt`` keeps: ``dev`` (the best dev score) or ``last`` (the
            final epoch, for a final fit whose dev set is trained on and so cannot choose;
            the epoch budget then comes from an earlier run). Early stopping needs ``dev``.
        ema: decay of an exponential moving average of the weights, updated every step
            (0 = off). When on, the average is what is validated and saved as ``best.pt``:
            it smooths the step-to-step noise of small, heavily augmented data sets.
        snapshot_every: also keep the judged weights of every N-th epoch as
            ``epoch-NNN.pt`` (an inference checkpoint like ``best.pt``; 0 = off).
        progress: a progress bar over each epoch's batches.
        seed: seeds Python, NumPy and torch (plus the rank under DDP).
    """

    device: str = "auto"
    amp: bool = False
    max_epochs: int = 20
    patience: int = 4
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
        check_types(self, "trainer")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"trainer.device={self.device!r}: use 'auto', 'cpu' or 'cuda'")
        if self.max_epochs < 1:
            raise ValueError(f"trainer.max_epochs={self.max_epochs}: needs >= 1")
        if self.select not in ("dev", "last"):
            raise ValueError(f"trainer.select={self.select!r}: use 'dev' or 'last'")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"trainer.ema={self.ema}: needs 0 <= ema < 1 (0 = off)")
        if self.snapshot_every < 0:
            raise ValueError(f"trainer.snapshot_every={self.snapshot_every}: needs >= 0 (0 = off)")
        if self.grad_clip < 0:
            raise ValueError(f"trainer.grad_clip={self.grad_clip}: needs >= 0 (0 = off)")


def check_types(obj: Any, prefix: str) -> None:
    """Coerce a dataclass's fields to their annotated scalar types, or raise a ValueError
    that names ``prefix.field``, the value and the type wanted (``trainer.max_epochs=abc``)."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        want, value = hints[f.name], getattr(obj, f.name)
        optional = type(None) in typing.get_args(want)
        if optional:
            if value is None:
                continue
            want = next(a for a in typing.get_args(want) if a is not type(None))
        if want not in (int, float, bool, str):
            continue
        ok = (
            isinstance(value, bool)
            if want is bool
            else isinstance(value, want) and not isinstance(value, bool)
        )
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            setattr(obj, f.name, float(value))
            continue
        if not ok:
            raise ValueError(
                f"{prefix}.{f.name}={value!r}: expected {'null or ' if optional else ''}"
                f"{want.__name__}"
            )


def warmup_cosine(
    optimizer: torch.optim.Optimizer,
    *,
    total_steps: int,
    warmup_steps: int = 100,
    floor: float = 0.05,
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over ``warmup_steps``, then cosine decay to ``floor`` x the base rate."""
    if warmup_steps < 0 or not 0.0 <= floor <= 1.0:
        raise ValueError(
            f"scheduler: warmup_steps={warmup_steps} (needs >= 0), floor={floor} (needs 0..1)"
        )

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def constant(optimizer: torch.optim.Optimizer, *, total_steps: int = 0):
    """The optimizer's own rate at every step (a scheduler that changes nothing)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


def default_optimizer(params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    """AdamW as ``conf/optimizer/adamw.yaml`` configures it, for callers without a config."""
    return torch.optim.AdamW(params, lr=3e-3, weight_decay=1e-4)


@dataclass
class EpochResult:
    """What one pass of :func:`train_epoch` did.

    Attributes:
        steps: optimizer steps taken.
        clips: training examples seen.
        loss: mean training loss over the steps.
        seconds: wall time of the pass.
        empty_batches: batches with no example (Poisson sampling can draw none); skipped.
    """

    steps: int
    clips: int
    loss: float
    seconds: float
    empty_batches: int = 0

    @property
    def clips_per_second(self) -> float:
        return self.clips / max(self.seconds, 1e-9)


def train_epoch(
    model: nn.Module,
    task: Task,
    optimizer: torch.optim.Optimizer,
    loader: Iterable,
    *,
    device: torch.device | str = "cpu",
    epoch: int = 0,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    grad_clip: float = 0.0,
    per_sample: bool = False,
    amp_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
    ema: nn.Module | None = None,
    on_step: Callable[[float], None] | None = None,
    progress: bool = False,
) -> EpochResult:
    """One pass over ``loader``: forward, ``task.loss``, backward, step. Builds nothing.

    Args:
        model: the module to train, as the optimizer sees it (a plain model, a DDP wrapper or
            Opacus's ``GradSampleModule``); it is put in train mode.
        task: supplies ``loss(model, batch, per_sample=...)``.
        optimizer: any ``torch.optim.Optimizer``, including Opacus's ``DPOptimizer``.
        loader: yields :class:`~speech.data.dataset.Batch` es. A loader whose batch sampler
            has ``set_epoch`` (ours) is told the epoch; Opacus's DP loader has none.
        epoch: the epoch number, for the sampler's shuffle and the dataset's augmentation.
        scheduler: stepped after every optimizer step (None = constant rate).
        grad_clip: global gradient-norm clip (0 = off: per-sample clipping under DP-SGD).
        per_sample: ask the task for a loss that is a mean of per-example terms, each
            normalised on its own, so one example's gradient never depends on another's
            (needed for DP-SGD's per-sample clipping to bound each example's influence).
        amp_dtype: autocast dtype on CUDA (None = full precision).
        scaler: an fp16 grad scaler (None = none).
        ema: a ``torch.optim.swa_utils.AveragedModel`` updated after every step.
        on_step: called with each step's loss (for logging).
        progress: show a progress bar.
    """
    sampler = getattr(loader, "batch_sampler", None)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    dataset = getattr(loader, "dataset", None)
    if hasattr(dataset, "epoch"):
        dataset.epoch = epoch
    model.train()
    inner = unwrap(model)
    started, steps, clips, total, empty = time.time(), 0, 0, 0.0, 0
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=not progress, leave=False)
    for batch in bar:
        if not isinstance(batch, Batch) or len(batch.ids) == 0:
            empty += 1  # Opacus's loader returns a list of empty tensors for an empty draw
            continue
        batch = batch.to(device)
        ctx = (
            torch.autocast(torch.device(device).type, dtype=amp_dtype)
            if amp_dtype is not None
            else nullcontext()
        )
        with ctx:
            loss, _ = task.loss(model, batch, per_sample=per_sample)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
        else:
            loss.backward()
        if grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if ema is not None:
            ema.update_parameters(inner)
        value = loss.item()
        steps, clips, total = steps + 1, clips + len(batch.ids), total + value
        bar.set_postfix(loss=f"{total / steps:.4f}")
        if on_step is not None:
            on_step(value)
    return EpochResult(steps, clips, total / max(steps, 1), time.time() - started, empty)


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


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` / ``cpu`` / ``cuda`` -> a device, or a clear error when CUDA is asked for and absent."""
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainingError("trainer.device=cuda but no CUDA device is visible; use trainer=cpu")
    return torch.device(name if name != "cuda" else f"cuda:{local_rank}")


def fit(
    task: Task,
    cfg: TrainerConfig,
    out_dir: str | os.PathLike,
    *,
    optimizer: OptimizerFactory = default_optimizer,
    scheduler: SchedulerFactory | None = None,
) -> dict[str, Any]:
    """Train ``task``'s model; returns the best dev metrics. Works under torchrun too.

    Args:
        optimizer: ``params -> Optimizer`` (a ``_partial_`` config, e.g. AdamW with its rate).
        scheduler: ``(optimizer, total_steps=...) -> LRScheduler`` (e.g. :func:`warmup_cosine`);
            None keeps the optimizer's rate.
    """
    out = Path(out_dir)
    rank, local_rank, world = _dist()
    device = resolve_device(cfg.device, local_rank)
    last = out / "last.pt"
    if cfg.resume and not last.exists():
        raise TrainingError(
            f"trainer.resume=true but {last} does not exist: nothing to resume "
            "(drop trainer.resume to start afresh, or point out_dir= at the run to continue)"
        )
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    _seed(cfg.seed + rank)
    main = rank == 0
    out.mkdir(parents=True, exist_ok=True)

    model = task.build_model().to(device)
    train_loader, dev_loader = task.loaders(ddp=world > 1, num_workers=cfg.num_workers)
    opt = optimizer(model.parameters())
    total_steps = max(1, cfg.max_epochs * len(train_loader))
    sched = scheduler(opt, total_steps=total_steps) if scheduler is not None else None
    use_amp = cfg.amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if use_amp and torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if use_amp and amp_dtype == torch.float16 else None

    start_epoch, best, bad_epochs, history = 0, None, 0, []
    state: dict[str, Any] | None = None
    if cfg.resume:
        state = torch.load(last, map_location=device, weights_only=False)
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise TrainingError(
                f"{last} was written by a different model or optimizer than this config builds "
                f"({str(exc).splitlines()[0]}); resume with the run's own settings "
                f"(see {out / 'config.yaml'}), or train into a new out_dir="
            ) from exc
        if sched is not None and "scheduler" in state:
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

    def log_step(loss: float) -> None:
        nonlocal step
        step += 1
        if writer is not None and step % 10 == 0:
            writer.add_scalar("train/loss", loss, step)
            writer.add_scalar("train/lr", opt.param_groups[0]["lr"], step)

    for epoch in range(start_epoch, cfg.max_epochs):
        done = train_epoch(
            net,
            task,
            opt,
            train_loader,
            device=device,
            epoch=epoch,
            scheduler=sched,
            grad_clip=cfg.grad_clip,
            amp_dtype=amp_dtype if use_amp else None,
            scaler=scaler,
            ema=ema,
            on_step=log_step,
            progress=main and cfg.progress,
        )
        if not main:
            if world > 1:
                torch.distributed.barrier()
            continue
        net.eval()
        judged.eval()
        metrics = task.validate(judged, dev_loader, device)
        metrics.update(
            epoch=epoch,
            train_loss=round(done.loss, 5),
            clips_per_second=round(done.clips_per_second * world, 1),
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
        with atomic_path(last) as tmp:
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    **({"scheduler": sched.state_dict()} if sched is not None else {}),
                    "epoch": epoch,
                    "best": best,
                    "bad_epochs": bad_epochs,
                    "history": history,
                    **({"ema": ema.state_dict()} if ema is not None else {}),
                },
                tmp,
            )
        with atomic_path(out / "metrics.json") as tmp:
            tmp.write_text(json.dumps({"best": best, "history": history}, indent=1))
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
            f"{path}: its weights do not fit this model ({str(exc).splitlines()[0]}); "
            "fine-tune with the model preset the checkpoint was trained with"
        ) from exc


def build_task(task_cfg, model_cfg, manifest: str | os.PathLike, **overrides: Any) -> Task:
    """A task plug-in from its config group, given the model config group as a plain dict.

    The model config keeps its ``_target_``: the task builds the model from it (through
    :func:`speech.checkpoint.construct`) once the feature size and vocabulary are known, so
    Hydra must not instantiate it here. An unknown task option is a ``ValueError`` naming it.
    """
    from hydra.utils import get_class
    from omegaconf import OmegaConf

    args = OmegaConf.to_container(task_cfg, resolve=True)
    cls = get_class(args.pop("_target_"))
    model = OmegaConf.to_container(model_cfg, resolve=True)
    try:
        return cls(manifest=manifest, model=model, **{**args, **overrides})
    except TypeError as exc:
        raise ValueError(f"task: {exc} (check the spelling of the task.* options)") from exc


def one_line(exc: BaseException) -> str:
    """An error's message on one line. Hydra wraps a constructor's error as
    ``Error in call to target 'X':\nValueError('...')\nfull_key: trainer``: keep the cause."""
    from hydra.errors import InstantiationException

    wrapped = isinstance(exc, InstantiationException) and exc.__cause__ is not None
    cause = exc.__cause__ if wrapped else exc
    text = str(cause) or type(cause).__name__
    if isinstance(cause, TypeError):  # a config key the constructor does not take
        text = f"{text} (check the spelling of the config keys)"
    return " ".join(text.split())


def _main() -> None:
    """Entry point of `python -m speech.train` and `sottovoce-train`."""
    import sys

    import hydra
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate, to_absolute_path
    from omegaconf import DictConfig, OmegaConf

    from speech.data.build import build_corpus

    @hydra.main(version_base="1.3", config_path="../conf", config_name="train")
    def run(cfg: DictConfig) -> None:
        try:
            trainer = instantiate(cfg.trainer)
            if trainer.init_from:
                trainer.init_from = to_absolute_path(trainer.init_from)
            optimizer = instantiate(cfg.optimizer)
            scheduler = instantiate(cfg.scheduler) if cfg.get("scheduler") else None
            if cfg.get("manifest"):  # a corpus on disk (speech.data.real): nothing is built
                manifest = Path(to_absolute_path(cfg.manifest))
                if not manifest.is_file():
                    raise ValueError(
                        f"manifest={cfg.manifest}: no such file (import a corpus with "
                        "python -m speech.data.real librispeech ROOT OUT)"
                    )
            else:
                spec = instantiate(cfg.data, _convert_="all")
                corpus, _ = build_corpus(
                    spec, to_absolute_path(cfg.out_root), workers=cfg.workers, progress=True
                )
                manifest = corpus / "manifest.jsonl"
            task = build_task(cfg.task, cfg.model, manifest)
            out = Path(to_absolute_path(cfg.out_dir))
            if _dist()[0] == 0:
                out.mkdir(parents=True, exist_ok=True)
                with atomic_path(out / "config.yaml") as tmp:
                    tmp.write_text(OmegaConf.to_yaml(cfg, resolve=True))
            best = fit(task, trainer, out, optimizer=optimizer, scheduler=scheduler)
        except (TrainingError, CheckpointError, ValueError, InstantiationException) as exc:
            print(f"error: {one_line(exc)}", file=sys.stderr)
            sys.exit(2)
        if _dist()[0] == 0:
            print(json.dumps({"checkpoint": str(out / "best.pt"), "best": best}, indent=1))

    run()


if __name__ == "__main__":
    _main()
