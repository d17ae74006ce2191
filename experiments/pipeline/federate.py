"""The federated stage: the wake word trained on the devices under user-level DP.

Runs ``python -m federated.simulate`` (Flower's simulation engine, one simulated device per
home of ``devices``) with this pipeline's settings: the ``federated`` and ``privacy`` groups
and the two corpora are written as config files under ``federated/conf/`` and named on its
command line, so the run can be repeated by hand with the command in the stage's result. The
run checks the starting model and its result on every device's local test clips and on the
central test set (``data``), and keeps a privacy ledger with each device's epsilon.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hydra.utils import to_absolute_path
from omegaconf import DictConfig, OmegaConf

from experiments.pipeline.build import checkpoint
from experiments.pipeline.runner import Context, PipelineError
from experiments.pipeline.tools import command_line, run_tool


def check(cfg: DictConfig) -> None:
    """The federated settings' own checks (typed schemas, the privacy for this population),
    before any work: a typo or a delta too large for the devices fails here."""
    from hydra.utils import instantiate

    from federated.config import resolve

    fed = instantiate(federated_node(cfg), _convert_="all")
    privacy = instantiate(cfg.privacy, _convert_="all")
    clips = max(1, (cfg.devices.n_wake + cfg.devices.n_negative) // cfg.devices.n_devices)
    resolve(privacy, fed, cfg.devices.n_devices, clips)


def federated_node(cfg: DictConfig) -> DictConfig:
    """The federated settings for this run: the private round choice (conf/pipeline.yaml's
    ``federated.select_noise``) belongs to user-level DP, so a run without it (privacy=none or
    local_dp) chooses its round exactly, as it would with federated.simulate."""
    node = cfg.federated
    if cfg.privacy.mode not in ("user_dp", "both") and node.get("select_noise"):
        node = OmegaConf.merge(node, {"select_noise": 0.0})
    return node


def _override(value: Any) -> str:
    """A value as Hydra's override grammar writes it (``null``, ``true``)."""
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


def _write_configs(cfg: DictConfig, conf: Path, kws_checkpoint: str) -> None:
    for group, name, node in (
        ("data", "pipeline_devices", cfg.devices),
        ("data", "pipeline_central", cfg.data),
        ("federated", "pipeline", federated_node(cfg)),
        ("privacy", "pipeline", cfg.privacy),
    ):
        values = OmegaConf.to_container(node, resolve=True)
        if group == "federated":
            values["checkpoint"] = kws_checkpoint
        (conf / group).mkdir(parents=True, exist_ok=True)
        (conf / group / f"{name}.yaml").write_text(
            "# written by experiments.pipeline for its federated stage\n"
            + OmegaConf.to_yaml(OmegaConf.create(values))
        )


def federated(ctx: Context) -> dict[str, Any]:
    """Run the federated simulation; summarise FRR before and after, and epsilon per device."""
    from federated.ledger import TRAINED, format_device, read

    cfg = ctx.cfg
    conf = ctx.stage_dir / "conf"
    run = ctx.stage_dir / "run"
    _write_configs(cfg, conf, checkpoint(ctx, "kws"))
    fr = cfg.federated_run
    args = [
        "-m",
        "federated.simulate",
        "--config-dir",
        str(conf.resolve()),
        "task=kws",
        "data=pipeline_devices",
        "data@central=pipeline_central",
        "federated=pipeline",
        "privacy=pipeline",
        f"out_root={to_absolute_path(cfg.out_root)}",
        f"workers={cfg.workers}",
        f"num_cpus_per_client={fr.num_cpus_per_client}",
        f"central_max_clips={_override(fr.central_max_clips)}",
        f"audit.membership_clips={fr.membership_clips}",
        "audit.canaries=0",
        f"progress={_override(ctx.progress)}",
        f"out_dir={run}",
        "hydra/job_logging=stdout",  # no simulate.log in the working folder
    ]
    # Ray warns that it will stop overriding visible accelerators: nothing to do on CPUs.
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    run_tool(args, ctx.stage_dir / "simulate.log", show_progress=ctx.progress)
    if not (run / "summary.json").is_file():
        raise PipelineError(f"{run}: the simulation wrote no summary.json (see simulate.log)")
    summary = json.loads((run / "summary.json").read_text())
    last: dict[str, dict[str, Any]] = {}
    trained: dict[str, int] = {}
    for row in read(run / "privacy.jsonl"):
        last[row["device"]] = row
        trained[row["device"]] = trained.get(row["device"], 0) + (row["status"] in TRAINED)
    devices = sorted(last)
    by_round = [
        [r["round"], r.get("user_epsilon")] for r in read(run / "privacy.jsonl", devices[0])
    ]
    example = devices[0]
    (ctx.stage_dir / f"ledger-{example}.txt").write_text(format_device(run, example) + "\n")
    keep = ("central_before", "central_after", "local_before", "local_after")
    return {
        "command": command_line(args),
        "run": str(run),
        "devices": summary["devices"],
        "rounds_run": summary["rounds_run"],
        "seconds": summary["seconds"],
        "privacy": summary["privacy"],
        "server": summary["server"],
        "counts": summary["counts"],
        "stopped": summary.get("stopped"),
        "delta": summary["delta"],
        "user_noise": summary["user_noise"],
        "user_epsilon": summary["user_epsilon"],
        "max_local_epsilon": summary["max_local_epsilon"],
        **{k: summary.get(k) for k in keep},
        "gain_frr_at_target": summary.get("gain_frr_at_target"),
        "selection": summary.get("selection"),  # federated.select=best: the round returned
        "epsilon": {
            d: {
                "user": last[d].get("user_epsilon"),
                "local": last[d].get("local_epsilon"),
                "rounds_trained": trained[d],
            }
            for d in devices
        },
        "epsilon_by_round": by_round,
        "ledger_command": f"python -m federated.ledger {example} --run {run}",
        "ledger_example": str(ctx.stage_dir / f"ledger-{example}.txt"),
        "files": [str(run / "summary.json"), str(run / "privacy.jsonl")],
    }
