"""DP-SGD step time (Opacus) against a non-private step, for both models, per grad-sample mode.

One fixed batch of real clips from a corpus, the task's own loss (per-clip under DP), SGD.
Each configuration is warmed up, then timed over ``--steps`` steps, configurations interleaved
over ``--repeats`` passes; the figure is the median step time and its ratio to the non-private
step measured in the same run. A mode that fails is reported with its error.

    python -m experiments.bench.opacus_step_time --corpus corpora/default-43fa5746 \\
        [--batch 8] [--steps 5] [--repeats 3] [--threads 1] [--out experiments/bench/results]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

MODES = ("hooks", "functorch", "ew", "ghost")
MODELS = {"kws": "models/kws-hey-nova/model.pt", "asr": "models/asr-tiny/model.pt"}


def _setup(task_name: str, corpus: Path, batch: int):
    from omegaconf import OmegaConf

    from federated.local import Setup, build_task
    from speech.data.dataset import collate
    from tests.conftest import compose_config

    cfg = compose_config("train", [f"task={task_name}", "data=tiny"])
    task_cfg = OmegaConf.to_container(cfg.task, resolve=True)
    setup = Setup(
        task=task_cfg, manifest=str(corpus / "manifest.jsonl"), checkpoint=MODELS[task_name]
    )
    task = build_task(setup)
    data, _ = task.datasets()
    examples = [data[i] for i in range(0, len(data), max(1, len(data) // batch))][:batch]
    return setup, task, data, collate(examples)


def _time_steps(model, task, optimizer, batch, steps: int, per_sample: bool) -> list[float]:
    out = []
    for _ in range(steps):
        t = time.perf_counter()
        loss, _ = task.loss(model, batch, per_sample=per_sample)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        out.append(time.perf_counter() - t)
    return out


def bench(task_name: str, corpus: Path, batch: int, steps: int, repeats: int) -> dict:
    from federated.local import new_model

    setup, task, _, fixed = _setup(task_name, corpus, batch)
    times: dict[str, list[float]] = {"non-private": []}
    errors: dict[str, str] = {}
    runners = {}

    def plain():
        m = new_model(setup).train()
        return m, torch.optim.SGD(m.parameters(), lr=1e-3), False

    runners["non-private"] = plain
    for mode in MODES:

        def dp(mode=mode):
            from opacus import PrivacyEngine

            if mode == "ghost":  # needs a criterion(outputs, targets); the task's loss is not one
                raise NotImplementedError(
                    "ghost clipping needs the loss as criterion(outputs, targets), which the "
                    "task plug-ins compute inside task.loss"
                )
            m = new_model(setup).train()
            loader = torch.utils.data.DataLoader(
                list(range(batch)), batch_size=batch, collate_fn=lambda _: fixed
            )
            gm, opt, _ = PrivacyEngine(accountant="rdp").make_private(
                module=m,
                optimizer=torch.optim.SGD(m.parameters(), lr=1e-3),
                data_loader=loader,
                noise_multiplier=1.0,
                max_grad_norm=1.0,
                poisson_sampling=False,
                grad_sample_mode=mode,
            )
            return gm, opt, True

        runners[mode] = dp
        times[mode] = []
    built = {}
    for name, make in runners.items():
        try:
            built[name] = make()
            m, opt, per_sample = built[name]
            _time_steps(m, task, opt, fixed, 2, per_sample)  # warm-up
        except Exception as e:  # a mode Opacus cannot run on this model
            errors[name] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
            built.pop(name, None)
            times.pop(name, None)
    for _ in range(repeats):
        for name, (m, opt, per_sample) in built.items():
            try:
                times[name] += _time_steps(m, task, opt, fixed, steps, per_sample)
            except Exception as e:
                errors[name] = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    base = statistics.median(times["non-private"])
    rows = {
        name: {"median_s": statistics.median(t), "ratio": statistics.median(t) / base}
        for name, t in times.items()
        if t and name not in errors
    }
    params = sum(p.numel() for p in new_model(setup).parameters())
    return {
        "task": task_name,
        "parameters": params,
        "batch": batch,
        "modes": rows,
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m experiments.bench.opacus_step_time")
    p.add_argument("--corpus", required=True, type=Path)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("experiments/bench/results"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    results = [bench(t, args.corpus, args.batch, args.steps, args.repeats) for t in ("kws", "asr")]
    label = f"cpu-{args.threads}thread"
    out = {
        "machine": platform.processor() or platform.machine(),
        "threads": args.threads,
        "date": time.strftime("%Y-%m-%d"),
        "results": results,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"opacus_step_time_{label}.json").write_text(json.dumps(out, indent=1))
    lines = [
        f"# Opacus DP-SGD step time against non-private ({label}, batch {args.batch})",
        "",
        "| model | parameters | mode | median step (s) | ratio to non-private |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        for name, m in r["modes"].items():
            lines.append(
                f"| {r['task']} | {r['parameters']:,} | {name} | {m['median_s']:.4f} | {m['ratio']:.2f} |"
            )
        for name, e in r["errors"].items():
            lines.append(f"| {r['task']} | {r['parameters']:,} | {name} | fails: {e} | - |")
    (args.out / f"opacus_step_time_{label}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
