"""Simulate a federated run on one machine: ``python -m federated.simulate``.

A Hydra app (``conf/simulate.yaml``): it builds (or finds) the federated corpus and the
central one, checks the privacy settings for this population, and runs the project's
``ClientApp`` and ``ServerApp`` in Flower's simulation engine, one simulated SuperNode per
device::

    python -m federated.simulate                                   # wake word, user-level DP
    python -m federated.simulate privacy=local_dp privacy.local.target_epsilon=8
    python -m federated.simulate privacy=none federated=fedadam    # no DP: warns
    python -m federated.simulate task=asr federated.rounds=10
    python -m federated.simulate task=asr federated.labels=teacher   # devices label their audio

The run folder (``outputs/federated/<task>-<privacy>-<time>``, linked as
``outputs/federated/latest``) holds ``summary.json``, ``rounds.csv``, ``rounds.png``, the
ledgers (``python -m federated.ledger DEVICE``), TensorBoard logs and the improved ``model.pt``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any

SHIPPED = {"kws": "models/kws-hey-nova/model.pt", "asr": "models/asr-tiny/model.pt"}
# conf/ sits beside the installed packages (an editable install of this checkout). Found from
# `speech`, not from this file: under `flwr run` this module is imported from the app bundle
# Flower ships to the SuperLink, which holds the Python files but not conf/.
ROOT = Path(__import__("speech").__file__).resolve().parents[1]


def spec_from_config(cfg) -> Any:
    """A :class:`~federated.server_app.RunSpec` from the composed config (builds corpora)."""
    from hydra.utils import instantiate, to_absolute_path
    from omegaconf import OmegaConf

    from federated.config import FederatedConfig, PrivacyConfig
    from federated.data import population
    from federated.local import Setup
    from federated.server_app import RunSpec
    from speech.data.build import build_corpus

    fed: FederatedConfig = instantiate(cfg.federated, _convert_="all")
    privacy: PrivacyConfig = instantiate(cfg.privacy, _convert_="all")
    task = OmegaConf.to_container(cfg.task, resolve=True)
    if task.get("name") not in SHIPPED:
        raise ValueError(f"task={task.get('name')}: federated training supports kws and asr")
    checkpoint = fed.checkpoint or SHIPPED[task["name"]]
    checkpoint = to_absolute_path(checkpoint)
    from speech.checkpoint import read_checkpoint

    kind = read_checkpoint(checkpoint)["task"]
    if kind != task["name"]:
        raise ValueError(
            f"federated.checkpoint={checkpoint}: a {kind} checkpoint, but task={task['name']}"
        )
    public = cfg.get("replay") if cfg.get("replay") is not None else cfg.get("central")
    if fed.replay_clips and (privacy.local_dp or public is None):
        from federated.config import ConfigError

        why = (
            "local DP's accountant counts the device's own clips only"
            if privacy.local_dp
            else "they come from data@replay or the central corpus (data@central)"
        )
        raise ConfigError(f"federated.replay_clips={fed.replay_clips}: no public clips here: {why}")
    corrections = None
    if fed.labels == "teacher":
        from federated.config import ConfigError
        from federated.labels import check_teacher, read_corrections

        if task["name"] != "asr":
            raise ConfigError(
                f"federated.labels=teacher: pseudo-labels are transcripts, for task=asr; "
                f"task={task['name']} has none (its local negatives: federated.negatives)"
            )
        check_teacher(fed.teacher)
        if fed.corrections:
            corrections = to_absolute_path(fed.corrections)
            read_corrections(corrections)  # a missing or malformed export stops the run here
    root = to_absolute_path(cfg.out_root)

    def built(node) -> str:
        """Build (or find) the corpus of a data node; its manifest's path."""
        folder, _ = build_corpus(
            instantiate(node, _convert_="all"), root, workers=cfg.workers, progress=cfg.progress
        )
        return str(folder / "manifest.jsonl")

    manifest = built(cfg.data)
    central = built(cfg.central) if cfg.get("central") is not None else None
    replay = None
    if fed.replay_clips:  # data@replay's corpus, else the central one (checked above)
        replay = built(cfg.replay) if cfg.get("replay") is not None else central
    devices = population(
        manifest, task["name"], max_devices=fed.max_devices, empty_devices=fed.faults.empty_devices
    )
    setup = Setup(
        task=task,
        manifest=manifest,
        checkpoint=checkpoint,
        test_share=fed.local_test_share,
        val_share=fed.local_val_share if fed.select == "best" else 0.0,
        max_devices=fed.max_devices,
        empty_devices=fed.faults.empty_devices,
        seed=fed.seed,
        local_lr=fed.local_lr,
        local_epochs=fed.local_epochs,
        local_batch_size=fed.local_batch_size,
        trainable=fed.trainable,
        negatives=fed.negatives,
        false_wake_threshold=fed.false_wake_threshold,
        labels=fed.labels,
        teacher=fed.teacher,
        teacher_min_confidence=fed.teacher_min_confidence,
        corrections=corrections,
        replay_manifest=replay,
        replay_clips=fed.replay_clips,
        faults={
            k: getattr(fed.faults, k)
            for k in ("dropout", "straggle", "straggle_seconds", "corrupt")
        },
    )
    audit = OmegaConf.to_container(cfg.audit, resolve=True) if cfg.get("audit") else {}
    if audit.get("canaries") and task["name"] == "asr":
        from federated.audit import canary_device, plant

        canary_dir = Path(to_absolute_path(cfg.out_dir)) / "canaries"
        setup.extra_manifest = str(
            plant(
                canary_dir,
                manifest,
                canary_device(manifest, devices),
                n=audit["canaries"],
                copies=audit["copies"],
                seed=fed.seed,
            )
        )
    return RunSpec(
        setup=setup,
        fed=fed,
        privacy=privacy,
        out_dir=to_absolute_path(cfg.out_dir),
        central_manifest=central,
        central_max_clips=cfg.central_max_clips,
        progress=cfg.progress,
        extra={
            "devices_planned": len(devices),
            "audit": audit,
            "config": OmegaConf.to_container(cfg, resolve=True),
        },
    )


def compose_spec(overrides: list[str]):
    """The same run spec outside Hydra's main (for ``flwr run .``'s ServerApp)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="simulate", overrides=overrides)
    return spec_from_config(cfg)


def check_population(spec) -> None:
    """Fail before starting Ray when the privacy settings cannot work for this population."""
    from federated.config import resolve
    from federated.data import population
    from federated.local import split_clips

    s = spec.setup
    devices = population(
        s.manifest, s.task_name, max_devices=s.max_devices, empty_devices=s.empty_devices
    )
    clips = [len(split_clips(s, d, "train")) for d in devices]
    nonzero = [c for c in clips if c]
    resolve(spec.privacy, spec.fed, len(devices), min(nonzero) if nonzero else 1)


def simulate(spec, *, num_cpus_per_client: float = 1.0) -> dict[str, Any]:
    """Run ``spec`` in Flower's simulation engine; returns the run summary."""
    from flwr.serverapp import ServerApp
    from flwr.simulation import run_simulation

    from federated.client_app import app as client_app
    from federated.data import population
    from federated.server_app import run_server

    s = spec.setup
    n = len(
        population(
            s.manifest, s.task_name, max_devices=s.max_devices, empty_devices=s.empty_devices
        )
    )
    result: dict[str, Any] = {}
    server_app = ServerApp()

    @server_app.main()
    def _main(grid, context) -> None:
        result.update(run_server(grid, spec))

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    run_simulation(
        server_app=server_app,
        client_app=client_app,
        num_supernodes=n,
        backend_config={
            "client_resources": {"num_cpus": num_cpus_per_client, "num_gpus": 0.0},
            "init_args": {"log_to_driver": False, "include_dashboard": False},
        },
    )
    if not result:
        raise RuntimeError("the server app stopped before the run finished; see the log above")
    audit = spec.extra.get("audit") or {}
    if audit.get("membership_clips"):
        from federated.audit import audit_run

        result["audit"] = audit_run(
            spec.setup,
            spec.out_dir,
            membership_clips=audit["membership_clips"],
            candidates=audit.get("candidates", 1000),
            seed=spec.fed.seed,
        )
        (Path(spec.out_dir) / "summary.json").write_text(json.dumps(result, indent=1))
    return result


def main() -> None:
    import hydra
    from hydra.errors import InstantiationException
    from omegaconf import DictConfig

    from federated.config import ConfigError
    from speech.checkpoint import CheckpointError
    from speech.train import one_line

    @hydra.main(version_base="1.3", config_path="../conf", config_name="simulate")
    def run(cfg: DictConfig) -> None:
        try:
            spec = spec_from_config(cfg)
            check_population(spec)
        except (ConfigError, CheckpointError, ValueError, InstantiationException) as exc:
            print(f"error: {one_line(exc)}", file=sys.stderr)
            sys.exit(2)
        if spec.privacy.mode == "none":
            warnings.warn(
                "privacy=none: no differential privacy; the devices' updates are visible to "
                "the server as they are",
                stacklevel=1,
            )
            print(
                "warning: privacy=none: this run gives the devices no differential privacy",
                file=sys.stderr,
            )
        # Flower logs every aggregation at INFO, and warns that a Poisson-sampled round
        # returned a different count than expected (the fixed denominator accounts for it).
        logging.getLogger("flwr").setLevel(logging.ERROR)
        logging.getLogger("alembic").setLevel(logging.WARNING)
        summary = simulate(spec, num_cpus_per_client=cfg.num_cpus_per_client)
        from federated.server_app import format_summary

        print(format_summary(summary, spec.out_dir))

    run()


if __name__ == "__main__":
    main()
