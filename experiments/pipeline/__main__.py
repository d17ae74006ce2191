"""Entry point: ``python -m experiments.pipeline [overrides]`` (see the package docstring).

Bad input (an unknown stage, a missing checkpoint, a setting out of range) is one line,
``error: ...``, with exit status 2, before any work; a stage that fails later is one line too,
with its traceback in ``<run>/error.log``.
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

from omegaconf import DictConfig, ListConfig, OmegaConf

from experiments.pipeline.runner import PipelineError, Runner


def _names(cfg: DictConfig, key: str, known: list[str]) -> list[str]:
    value = cfg[key]
    names = list(value) if isinstance(value, ListConfig) else [value] if value else []
    unknown = [n for n in names if n not in known]
    if unknown:
        raise PipelineError(
            f"{key}={names}: unknown stage(s) {', '.join(map(str, unknown))}; "
            f"the stages are {', '.join(known)}"
        )
    return names


def validate(cfg: DictConfig) -> None:
    """Every check that needs no work, so that bad input fails in a second, on one line."""
    from hydra.utils import instantiate

    from experiments.pipeline import check_models, stages
    from experiments.pipeline.federate import check as check_federated
    from experiments.pipeline.privacy import check_anonymization
    from speech.data.voices import catalogue

    known = [s.name for s in stages()]
    skip = _names(cfg, "skip", known)
    force = _names(cfg, "force", known)
    cfg.skip, cfg.force = skip, force
    for needed in ("corpus", "models"):
        if needed in skip:
            raise PipelineError(f"skip={skip}: {needed} cannot be skipped, every stage uses it")
    for key in ("asr.clips", "escalate.max_clips", "redaction.clips"):
        value = OmegaConf.select(cfg, key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise PipelineError(f"{key}={value!r}: must be a whole number of clips, 1 or more")
    for role in ("data", "devices"):
        spec = instantiate(cfg[role], _convert_="all")
        try:
            catalogue(spec.voices)  # unknown voice names fail here, not minutes into a build
        except ValueError as exc:
            raise PipelineError(f"{role}.voices: {exc}") from None
    if cfg.data.stream_hours <= 0 and not {"kws", "federated"} <= set(skip):
        raise PipelineError(
            f"data.stream_hours={cfg.data.stream_hours}: the wake word's false accepts are "
            "counted on the test set's negative stream; give it one (data=demo has 0.25 h)"
        )
    if not 0 <= cfg.escalate.consent <= 1 or cfg.escalate.minutes_apart < 0:
        raise PipelineError(
            f"escalate.consent={cfg.escalate.consent} must be in [0, 1] and "
            f"escalate.minutes_apart={cfg.escalate.minutes_apart} at least 0"
        )
    check_models(cfg)
    if "federated" not in skip:
        check_federated(cfg)
    if "anonymization" not in skip:
        check_anonymization(cfg)


def run(cfg: DictConfig) -> int:
    from experiments.pipeline import stages

    validate(cfg)
    run_dir = Path(cfg.out_dir)
    runner = Runner(stages(), cfg, run_dir)
    try:
        results = runner.run()
    except PipelineError:
        raise
    except Exception as exc:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "error.log").write_text(traceback.format_exc())
        raise PipelineError(
            f"stage {runner.current} failed: {type(exc).__name__}: {exc} "
            f"(traceback in {run_dir / 'error.log'})"
        ) from exc
    rep = results.get("report")
    if rep:
        print("\n".join(f"{a}: {b}" for a, b, _ in rep["headline"]))
        print(f"report: {rep['report']}")
    if results.get("escalate"):
        print(f"review UI: {results['escalate']['review_command']}")
    return 0


def main() -> None:
    import hydra
    from hydra.errors import InstantiationException

    from federated.config import ConfigError
    from speech.checkpoint import CheckpointError
    from speech.train import one_line

    @hydra.main(version_base="1.3", config_path="../../conf", config_name="pipeline")
    def app(cfg: DictConfig) -> None:
        # faster-whisper logs every clip at INFO, which Hydra's logging shows
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        try:
            code = run(cfg)
        except (
            PipelineError,
            ConfigError,
            CheckpointError,
            ValueError,
            InstantiationException,
        ) as exc:
            print(f"error: {one_line(exc)}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt:
            print(
                "interrupted: run the same command again to resume (finished stages are kept)",
                file=sys.stderr,
            )
            sys.exit(130)
        sys.exit(code)

    app()


if __name__ == "__main__":
    main()
