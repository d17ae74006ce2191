"""Evaluate a checkpoint on held-out speakers (Hydra app; same config as training).

    python -m speech.evaluate task=kws                       # outputs/kws-default/best.pt
    python -m speech.evaluate task=kws checkpoint=models/kws-hey-nova/model.pt
    python -m speech.evaluate +experiment=hey_jarvis
    python -m speech.evaluate task=asr checkpoint=models/asr-tiny/model.pt [eval.decoder=greedy]

Writes ``report.json`` and plots to ``<out_dir>/eval/`` and prints the figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.utils import instantiate, to_absolute_path
from omegaconf import DictConfig

from speech.checkpoint import CheckpointError, load_model
from speech.data.build import build_corpus


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    spec = instantiate(cfg.data, _convert_="all")
    corpus, _ = build_corpus(spec, to_absolute_path(cfg.out_root), workers=cfg.workers)
    ckpt = Path(to_absolute_path(cfg.checkpoint or f"{cfg.out_dir}/best.pt"))
    out = Path(to_absolute_path(cfg.out_dir)) / "eval"
    try:
        if cfg.task.name == "asr":
            from speech.asr.recognizer import Recognizer

            rec = Recognizer.load(ckpt, decoder=cfg.eval.decoder)
        else:
            model, meta = load_model(ckpt, task=cfg.task.name)
    except CheckpointError as exc:
        named = "named by checkpoint=" if cfg.checkpoint else "default when checkpoint= is unset"
        print(f"error: {exc} (the checkpoint {named}; pass checkpoint=PATH)", file=sys.stderr)
        sys.exit(2)
    if cfg.task.name == "asr":
        from speech.asr.evaluate import evaluate_asr
        from speech.asr.evaluate import format_report as format_asr

        report = evaluate_asr(
            rec, corpus, out, snrs=tuple(cfg.eval.snrs), max_clips=cfg.eval.max_clips
        )
        print(format_asr(report))
    elif cfg.task.name == "kws":
        from speech.kws.evaluate import evaluate_kws, format_report

        report = evaluate_kws(
            model,
            meta,
            corpus,
            out,
            snrs=tuple(cfg.eval.snrs),
            target_fa_per_hour=cfg.eval.target_fa_per_hour,
        )
        print(format_report(report))
    else:
        raise SystemExit(f"no evaluation for task {cfg.task.name!r} yet")
    print(f"report: {out / 'report.json'}")


if __name__ == "__main__":
    main()
