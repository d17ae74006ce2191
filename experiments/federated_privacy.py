"""The privacy/utility curve of federated training, against central training on the same clips.

Runs ``python -m federated.simulate`` once per setting (each in its own process), trains the same
starting checkpoint centrally on the pooled local training clips of every device (the
non-private, non-federated reference), and writes a table, a JSON file and a plot::

    python -m experiments.federated_privacy --task kws \
        --run none --run user_dp:8 --run user_dp:3 --run user_dp:1 --run local_dp:8 \
        --set federated.local_epochs=3 --set federated.local_lr=0.1 \
        --out experiments/results/federated_privacy

A setting is ``none``, ``MODE:EPSILON`` (the noise is calibrated to spend EPSILON over the run)
or ``MODE:noise=Z``, optionally followed by overrides of its own
(``--run "user_dp:8 federated.trainable=[head,out_norm]"``). Every ``--set`` is passed to every
run.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _overrides(setting: str) -> list[str]:
    if setting == "none":
        return ["privacy=none"]
    mode, _, value = setting.partition(":")
    part = "user" if mode == "user_dp" else "local"
    if value.startswith("noise="):
        return [f"privacy={mode}", f"privacy.{part}.noise_multiplier={value[6:]}"]
    return [f"privacy={mode}", f"privacy.{part}.target_epsilon={float(value)}"]


def run_setting(
    setting: str, task: str, common: list[str], out_root: Path, reuse: bool = False
) -> dict:
    head, *own = setting.split()
    name = head.replace(":", "-").replace("=", "")
    if own:
        name += "-" + "-".join(o.split("=")[-1].strip("[]").replace(",", "+") for o in own)
    out_dir = out_root / f"{task}-{name}"
    args = [
        f"task={task}",
        *common,
        *_overrides(head),
        *own,
        f"out_dir={out_dir}",
        "progress=false",
    ]
    done = out_dir / "summary.json"
    if reuse and done.is_file():  # a finished run of this setting: keep it
        summary = json.loads(done.read_text())
        summary.update(setting=setting, reused=True)
        summary["command"] = "python -m federated.simulate " + " ".join(args)
        return summary
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "federated.simulate", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"{setting}: federated.simulate failed:\n{tail}")
    summary = json.loads((out_dir / "summary.json").read_text())
    summary["setting"] = setting
    summary["command"] = "python -m federated.simulate " + " ".join(args)
    summary["wall_seconds"] = round(time.time() - started, 1)
    return summary


def central_reference(
    task_name: str, common: list[str], epochs: int, lr: float, seed: int = 0
) -> dict:
    """Fine-tune centrally on the pooled local training clips of all devices; score like a run."""
    import torch

    from federated.central import evaluate_central
    from federated.data import population
    from federated.local import _dataset, build_task, evaluate_local, new_model
    from federated.server_app import pooled
    from federated.simulate import compose_spec
    from speech.checkpoint import read_checkpoint
    from speech.data.dataset import make_loader
    from speech.train import train_epoch

    spec = compose_spec([f"task={task_name}", *common, "privacy=none", "audit.membership_clips=0"])
    s = spec.setup
    task = build_task(s)
    devices = population(s.manifest, s.task_name)
    parts = [d for d in (_dataset(task, s, dev, "train") for dev in devices) if d is not None]
    data = torch.utils.data.ConcatDataset(parts)
    data.durations = [x for p in parts for x in p.durations]
    torch.manual_seed(seed)
    model = new_model(s)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loader = make_loader(data, max_batch_seconds=s.local_batch_size * 2.0, shuffle=True, seed=seed)
    started = time.time()
    for e in range(epochs):
        train_epoch(model, task, opt, loader, epoch=e, grad_clip=5.0)
    seconds = time.time() - started
    meta = {k: v for k, v in read_checkpoint(s.checkpoint).items() if k != "state_dict"}
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    central = (
        evaluate_central(
            model, meta, spec.central_manifest, task=task, max_clips=spec.central_max_clips
        )
        if spec.central_manifest
        else {}
    )
    thresholds = []
    if s.task_name == "kws":
        thresholds = [float(meta["extra"]["threshold"]), central["threshold_at_target"]]
    local = {d: evaluate_local(s, d, state, thresholds) for d in devices}
    out = {
        "setting": "central",
        "epochs": epochs,
        "lr": lr,
        "seconds": round(seconds, 1),
        "central_after": central,
    }
    if s.task_name == "kws":
        out["local_after"] = {"stored": pooled(local, "kws", 0), "target": pooled(local, "kws", 1)}
    else:
        out["local_after"] = pooled(local, "asr")
    return out


def _fig(rows: list[dict], task: str, path: Path) -> None:
    """Utility against epsilon: on the devices' local test clips, and on the central test set
    (where a model that noise has broken shows, even when the devices' figure looks good)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def local(r):
        la = r["local_after"]
        return la["target"]["frr"] if task == "kws" else la["wer"]

    def central(r):
        ca = r.get("central_after") or {}
        return ca.get("frr_at_target" if task == "kws" else "wer", math.nan)

    name = "FRR at 0.5 FA/h" if task == "kws" else "WER"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    start = next((r for r in rows if "local_before" in r), None)
    for ax, value, where in (
        (axes[0], local, "devices' local test"),
        (axes[1], central, "central test"),
    ):
        for mode, color in (("user_dp", "C0"), ("local_dp", "C1"), ("both", "C2")):
            pts = sorted(
                (r["epsilon"], value(r))
                for r in rows
                if r.get("privacy") == mode and r.get("epsilon") and len(r["setting"].split()) == 1
            )
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", color=color, label=mode)
        for r in rows:
            if r["setting"] == "none":
                ax.axhline(value(r), color="k", ls="--", label="federated, no DP")
            if r["setting"] == "central":
                ax.axhline(value(r), color="g", ls=":", label="central training, same clips")
        if start:
            before = (
                (
                    start["local_before"]["target"]["frr"]
                    if task == "kws"
                    else start["local_before"]["wer"]
                )
                if value is local
                else (start.get("central_before") or {}).get(
                    "frr_at_target" if task == "kws" else "wer", math.nan
                )
            )
            ax.axhline(before, color="r", ls="-.", label="starting model")
        ax.set_xscale("log")
        ax.set(xlabel="epsilon (delta 1e-3)", ylabel=f"{name}, {where}", title=f"{task}: {where}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _table(rows: list[dict], task: str) -> str:
    lines = []
    if task == "kws":
        lines.append(
            "| setting | epsilon | devices' FRR at 0.5 FA/h (95% CI of the gain) | at the stored threshold | central test FRR at 0.5 FA/h | seconds |"
        )
        lines.append("|---|---|---|---|---|---|")
    else:
        lines.append(
            "| setting | epsilon | devices' WER (95% CI of the gain) | central test WER | seconds |"
        )
        lines.append("|---|---|---|---|---|")
    for r in rows:
        eps = r.get("epsilon")
        eps_s = "-" if eps is None else ("inf" if math.isinf(eps) else f"{eps:.2f}")
        if task == "kws":
            la, g = r["local_after"], r.get("gain_frr_at_target")
            ci = (
                f" (gain {100 * g['gain']:+.1f} pts, {100 * g['low']:+.1f} to {100 * g['high']:+.1f})"
                if g
                else ""
            )
            lines.append(
                f"| {r['setting']} | {eps_s} | {100 * la['target']['frr']:.1f}%{ci} | "
                f"{100 * la['stored']['frr']:.1f}% | {100 * r['central_after'].get('frr_at_target', math.nan):.1f}% | "
                f"{r.get('seconds', '-')} |"
            )
        else:
            g = r.get("gain_wer")
            ci = (
                f" (gain {100 * g['gain']:+.1f} pts, {100 * g['low']:+.1f} to {100 * g['high']:+.1f})"
                if g
                else ""
            )
            lines.append(
                f"| {r['setting']} | {eps_s} | {100 * r['local_after']['wer']:.1f}%{ci} | "
                f"{100 * r['central_after'].get('wer', math.nan):.1f}% | {r.get('seconds', '-')} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m experiments.federated_privacy", description=__doc__.split("\n")[0]
    )
    p.add_argument("--task", default="kws", choices=["kws", "asr"])
    p.add_argument("--run", action="append", default=[], help="none | MODE:EPSILON | MODE:noise=Z")
    p.add_argument("--set", action="append", default=[], help="an override for every run")
    p.add_argument("--central-epochs", type=int, default=0, help="0: skip the central reference")
    p.add_argument("--central-lr", type=float, default=0.1)
    p.add_argument("--out", default="experiments/results/federated_privacy")
    p.add_argument("--reuse", action="store_true", help="keep finished runs of the same settings")
    p.add_argument("--plot", metavar="JSON", help="only redraw the plot of an earlier result")
    args = p.parse_args(argv)
    if args.plot:
        result = json.loads(Path(args.plot).read_text())
        _fig(result["rows"], result["task"], Path(args.plot).with_suffix(".png"))
        print(_table(result["rows"], result["task"]))
        return
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for setting in args.run or ["none"]:
        print(f"running {setting} ...", flush=True)
        s = run_setting(
            setting, args.task, args.set, ROOT / "outputs" / "federated" / "experiments", args.reuse
        )
        mode = s["privacy"]
        s["epsilon"] = s["user_epsilon"] if mode in ("user_dp", "both") else s["max_local_epsilon"]
        rows.append(s)
        print(
            json.dumps({k: s.get(k) for k in ("setting", "epsilon", "local_after", "seconds")}),
            flush=True,
        )
    if args.central_epochs:
        print("central reference ...", flush=True)
        rows.append(central_reference(args.task, args.set, args.central_epochs, args.central_lr))
    result = {"date": str(date.today()), "task": args.task, "overrides": args.set, "rows": rows}
    Path(f"{out}.json").write_text(json.dumps(result, indent=1, default=str))
    _fig(rows, args.task, Path(f"{out}.png"))
    print(_table(rows, args.task))


if __name__ == "__main__":
    main()
