"""Build a synthetic speech corpus (Hydra app).

    python -m speech.data.synth                    # data=default: ~4.5 h, 50 devices
    python -m speech.data.synth data=tiny          # seconds; what the tests use
    python -m speech.data.synth data=large workers=16
    python -m speech.data.synth data.wake_phrase="hey jarvis" data.n_devices=200

The corpus lands in ``<out_root>/<name>-<hash>/`` with ``manifest.jsonl`` and
``summary.json``; the same config rebuilds instantly, an interrupted build resumes.
"""

from __future__ import annotations

import logging
import sys

import hydra
from hydra.utils import instantiate, to_absolute_path
from omegaconf import DictConfig

from speech.data.build import build_corpus
from speech.data.summary import format_summary
from speech.data.voices import EngineMissing

log = logging.getLogger(__name__)


@hydra.main(version_base="1.3", config_path="../../conf", config_name="synth")
def main(cfg: DictConfig) -> None:
    spec = instantiate(cfg.data, _convert_="all")
    try:
        out, summary = build_corpus(
            spec, to_absolute_path(cfg.out_root), workers=cfg.workers, progress=cfg.progress
        )
    except EngineMissing as exc:
        log.error("%s", exc)
        sys.exit(2)
    print(format_summary(summary))
    print(f"summary: {out / 'summary.json'}")


if __name__ == "__main__":
    main()
