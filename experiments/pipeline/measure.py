"""The models on held-out speakers: the wake word's FRR at 0.5 false accepts an hour, and the
recognizer's WER beside Whisper tiny.en's on the same clips.

* ``kws``: :func:`speech.kws.evaluate.evaluate_kws` on the test split of ``data`` (its wake
  clips, clean and noisy, and its negative stream); the same as
  ``python -m speech.evaluate +experiment=kws_hey_nova checkpoint=... data=demo``.
* ``asr``: ``asr.clips`` test requests spread evenly over the speakers, transcribed by ours
  (beam search with its character LM) and by Whisper (its written form turned into spoken
  words by :func:`speech.data.spoken.from_written`, as the references are), one thread each.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from experiments.pipeline.build import checkpoint
from experiments.pipeline.runner import Context, PipelineError


def kws(ctx: Context) -> dict[str, Any]:
    """FRR at the target false-accept rate on the test split's wake clips and stream."""
    from speech.checkpoint import load_model
    from speech.kws.evaluate import evaluate_kws, format_report

    model, meta = load_model(checkpoint(ctx, "kws"), task="kws")
    folder = Path(ctx.results["corpus"]["data"]["folder"])
    try:
        report = evaluate_kws(
            model,
            meta,
            folder,
            ctx.stage_dir,
            snrs=tuple(ctx.cfg.kws.snrs),
            target_fa_per_hour=ctx.cfg.kws.target_fa_per_hour,
            progress=ctx.progress,
        )
    except ValueError as exc:
        raise PipelineError(str(exc)) from None
    (ctx.stage_dir / "report.txt").write_text(format_report(report) + "\n")
    op = report["operating_point"]
    return {
        "positives": report["positives"],
        "stream_hours": report["stream_hours"],
        "target_fa_per_hour": op["target_fa_per_hour"],
        "threshold": op["threshold"],
        "false_accepts": op["false_accepts"],
        "frr": op["frr"],
        "per_speaker": {s: v["frr"] for s, v in report["per_speaker"].items()},
        "at_model_threshold": report.get("at_model_threshold"),
        "held_out_threshold": report.get("held_out_threshold"),
        "report": str(ctx.stage_dir / "report.json"),
        "files": [str(ctx.stage_dir / "report.json")],
    }


def asr(ctx: Context) -> dict[str, Any]:
    """WER of ours and of Whisper on the same held-out requests, overall and per engine."""
    import torch

    from redaction.transcribe import TranscriberError, Whisper
    from speech.asr.evaluate import select_clips
    from speech.asr.recognizer import Recognizer
    from speech.audio import load_wav
    from speech.data.align import word_errors
    from speech.data.manifest import audio_path, read_manifest
    from speech.data.spoken import from_written

    torch.set_num_threads(1)
    manifest = Path(ctx.results["corpus"]["data"]["manifest"])
    utts = [u for u in read_manifest(manifest) if u.split == "test" and u.kind == "request"]
    if not utts:
        raise PipelineError(f"{manifest}: no test requests to score")
    utts = select_clips(utts, int(ctx.cfg.asr.clips), seed=0)
    ours = Recognizer.load(checkpoint(ctx, "asr"))
    try:
        whisper = Whisper(ctx.cfg.asr.whisper, threads=1)
    except TranscriberError as exc:
        raise PipelineError(str(exc)) from None
    systems = {"ours": lambda w: ours.transcribe(w).text, whisper.name: lambda w: whisper(w).text}
    # errors, words and CPU seconds, per system and per group (all, robotic, natural)
    tally: dict[str, dict[str, list[float]]] = {s: {} for s in systems}
    audio_s = 0.0
    rows = []
    for u in tqdm(utts, desc="asr: ours and whisper", disable=not ctx.progress):
        wave = load_wav(audio_path(manifest, u))
        audio_s += len(wave) / 16000
        ref = u.text.split()
        group = "natural" if u.synth.get("engine") == "kokoro" else "robotic"
        row = {"id": u.id, "speaker": u.speaker, "ref": u.text}
        for name, fn in systems.items():
            t = time.process_time()
            hyp = fn(wave)
            cpu = time.process_time() - t
            if name != "ours":
                hyp = from_written(hyp)
            e = word_errors(ref, hyp.split())
            for g in ("all", group):
                acc = tally[name].setdefault(g, [0, 0, 0.0])
                acc[0] += e
                acc[1] += len(ref)
                acc[2] += cpu
            row[name] = hyp
        rows.append(row)
    (ctx.stage_dir / "hypotheses.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {
        "clips": len(utts),
        "audio_seconds": round(audio_s, 1),
        "speakers": sorted({u.speaker for u in utts}),
        "whisper": whisper.name,
        "wer": {
            name: {g: round(v[0] / max(1, v[1]), 4) for g, v in groups.items()}
            for name, groups in tally.items()
        },
        "words": {g: int(v[1]) for g, v in tally["ours"].items()},
        "rtf_one_thread": {
            name: round(groups["all"][2] / max(audio_s, 1e-9), 3) for name, groups in tally.items()
        },
        "files": [str(ctx.stage_dir / "hypotheses.jsonl")],
    }
