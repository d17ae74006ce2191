"""What redaction and anonymization leave: PII recall and leak rate, and speaker-verification EER.

* ``redaction``: ``python -m redaction.evaluate --clips N --seed S`` (spoken held-out PII
  templates, robotic and natural voices, the whole redact path; then Whisper base and
  pocketsphinx listen to the redacted audio). PII recall here is the share of gold PII
  entities whose every word's audio is at least 90% inside the redacted ranges; a clip leaks
  when either listener recovers any of its PII values.
* ``anonymization``: the test set's requests of each speaker, anonymized by each method of
  :data:`experiments.anonymization.METHODS`; the equal error rate of Resemblyzer (an encoder
  trained on thousands of real speakers) as VoicePrivacy's ignorant attacker (enrols on
  original speech) and lazy-informed one (enrols on speech anonymized the same way). 50% is
  chance. The full study, with a trained attacker, is ``python -m experiments.anonymization``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from hydra.utils import to_absolute_path
from omegaconf import DictConfig

from experiments.pipeline.runner import Context, PipelineError
from experiments.pipeline.tools import command_line, run_tool


def redaction(ctx: Context) -> dict[str, Any]:
    """PII recall of the redacted audio and its leak rate (original beside it)."""
    cfg = ctx.cfg.redaction
    out = ctx.stage_dir / "audio"
    args = ["-m", "redaction.evaluate", "--clips", str(cfg.clips), "--seed", str(cfg.seed)]
    args += ["--listener", str(cfg.listener), "--original-every", str(cfg.original_every)]
    # the spoken evaluation clips are a generated corpus: built once, beside the others
    cache = Path(to_absolute_path(ctx.cfg.out_root)) / "redaction-eval"
    args += ["--out", str(out), "--cache", str(cache)]
    run_tool(args, ctx.stage_dir / "evaluate.log", show_progress=ctx.progress)
    r = json.loads(out.with_suffix(".json").read_text())
    entities = sum(r["entities"].values())
    covered = sum(r["coverage"][k] * n for k, n in r["entities"].items())
    return {
        "command": command_line(args),
        "listener": f"whisper-{cfg.listener}",
        "clips": r["clips"],
        "pii_clips": r["pii_clips"],
        "entities": entities,
        "pii_recall": covered / entities if entities else None,
        "recall_by_label": r["coverage"],
        "entities_by_label": r["entities"],
        "leak_rate_redacted": r["leak_rate_redacted"],
        "leak_rate_original": r["leak_rate_original"],
        "leaks": r["leaks"],
        "withheld_share": r["withheld_share"],
        "withheld": r["withheld"],
        "over_masking_word_rate": r["over_masking"]["word_rate"],
        "rtf_mean": r["rtf_mean"],
        "report": str(out.with_suffix(".json")),
        "files": [str(out.with_suffix(".json"))],
    }


def check_anonymization(cfg: DictConfig) -> None:
    from experiments.anonymization import METHODS

    unknown = [m for m in cfg.anonymization.methods if m not in METHODS]
    if unknown:
        raise PipelineError(
            f"anonymization.methods: unknown method(s) {', '.join(unknown)}; "
            f"known: {', '.join(METHODS)}"
        )
    a = cfg.anonymization
    if a.enrol < 1 or a.clips_per_speaker <= a.enrol:
        raise PipelineError(
            f"anonymization: clips_per_speaker={a.clips_per_speaker} must exceed enrol="
            f"{a.enrol} (>= 1): each speaker needs enrolment clips and trials"
        )


def anonymization(ctx: Context) -> dict[str, Any]:
    """EER of the ignorant and lazy-informed Resemblyzer attackers, per method."""
    from experiments.anonymization import METHODS, anonymize_all
    from redaction.speakers import Resemblyzer, eer, trials
    from speech.audio import load_wav
    from speech.data.manifest import audio_path, read_manifest

    cfg = ctx.cfg.anonymization
    manifest = Path(ctx.results["corpus"]["data"]["manifest"])
    by_speaker: dict[str, list] = {}
    for u in sorted(read_manifest(manifest), key=lambda u: u.id):
        if u.kind == "request" and not u.augment:  # clean speech: the voice, not the room
            by_speaker.setdefault(u.speaker, []).append(u)
    speakers = sorted(s for s, v in by_speaker.items() if len(v) > cfg.enrol)
    if len(speakers) < 2:
        raise PipelineError(
            f"{manifest}: {len(speakers)} speaker(s) with more than {cfg.enrol} clean requests; "
            "speaker verification needs two or more"
        )
    waves, spk, ids, enrol = [], [], [], []
    for s in speakers:
        for i, u in enumerate(by_speaker[s][: cfg.clips_per_speaker]):
            w = load_wav(audio_path(manifest, u))
            waves.append((w / (np.max(np.abs(w)) + 1e-9) * 0.5).astype(np.float32))
            spk.append(s)
            ids.append(u.id)
            enrol.append(i < cfg.enrol)
    spk_a, en = np.array(spk), np.array(enrol)
    te = ~en
    clips = {"waves": waves, "speakers": spk, "ids": ids}
    attacker = Resemblyzer()
    original = attacker(waves)
    rows = {}
    from tqdm import tqdm

    for method in tqdm(list(cfg.methods), desc="anonymize and attack", disable=not ctx.progress):
        emb = (
            original if METHODS[method] is None else attacker(anonymize_all(clips, METHODS[method]))
        )
        rows[method] = {
            "ignorant": eer(*trials(original[en], spk_a[en], emb[te], spk_a[te])),
            "lazy": eer(*trials(emb[en], spk_a[en], emb[te], spk_a[te])),
        }
    (ctx.stage_dir / "eer.json").write_text(json.dumps(rows, indent=1))
    return {
        "attacker": "resemblyzer",
        "speakers": speakers,
        "clips": len(waves),
        "trials": int(te.sum()) * len(speakers),
        "target_trials": int(te.sum()),
        "eer": rows,
        "files": [str(ctx.stage_dir / "eer.json")],
    }
