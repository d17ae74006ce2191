"""What natural voices change: wake word and recognizer on robotic and natural held-out voices.

Scores checkpoints on a corpus's test split and groups the figures by voice kind: *robotic*
(espeak-ng, flite, festival voices) and *natural* (Kokoro-82M blends). The wake word: FRR at the
threshold stored in the checkpoint and at the 0.5 FA/h point of the corpus's negative stream
(clean positives). The recognizer: WER and CER on the test requests (clean).

    python -m experiments.natural_voices --corpus corpora/default-<hash> \\
        --kws shipped=models/kws-hey-nova/model.pt --kws retrained=outputs/kws-hey-nova/best.pt \\
        --asr shipped=models/asr-tiny/model.pt --asr retrained=outputs/asr-tiny/best.pt \\
        --out experiments/results/natural_voices.json

Each ``--kws`` / ``--asr`` is ``NAME=CHECKPOINT``. Writes the JSON report and prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from speech.data.align import word_errors
from speech.data.manifest import Utterance, read_manifest

NATURAL_ENGINES = {"kokoro"}
CLIP_GAIN_DB = 12.0  # overdrive of the clipped-positives check


def voice_kinds(utts: list[Utterance]) -> dict[str, str]:
    """speaker -> ``natural`` or ``robotic``, from the engine recorded in the manifest."""
    kinds: dict[str, str] = {}
    for u in utts:
        engine = (u.synth or {}).get("engine", "")
        kinds[u.speaker] = "natural" if engine in NATURAL_ENGINES else "robotic"
    return kinds


def score_kws(checkpoint: Path, corpus: Path, utts: list[Utterance], kinds: dict[str, str]) -> dict:
    from speech.checkpoint import load_model
    from speech.kws.evaluate import evaluate_kws

    model, meta = load_model(checkpoint, task="kws")
    with tempfile.TemporaryDirectory() as tmp:
        report = evaluate_kws(model, meta, corpus, Path(tmp), snrs=(), target_fa_per_hour=0.5)
    groups: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for speaker, sp in report["per_speaker"].items():
        g = groups[kinds[speaker]]
        g["clips"] += sp["clips"]
        g["rejected_at_0.5_fa_per_hour"] += sp["false_rejects"]
        g["rejected_at_stored_threshold"] += sp.get("false_rejects_stored", 0)
    op = report["operating_point"]["threshold"]
    wake = meta["extra"]["wake_phrase"]
    positives = [u for u in utts if u.split == "test" and u.text == wake and u.words]
    clipped = clipped_frr(model, meta, corpus, positives, kinds, CLIP_GAIN_DB, op)
    return {
        f"frr_clipped_{CLIP_GAIN_DB:g}db_at_0.5_fa_per_hour": clipped,
        "operating_point": report["operating_point"],
        "stored_threshold": meta["extra"].get("threshold"),
        "per_speaker": report["per_speaker"],
        "groups": {
            kind: {
                "clips": g["clips"],
                "frr_at_0.5_fa_per_hour": round(g["rejected_at_0.5_fa_per_hour"] / g["clips"], 4),
                "frr_at_stored_threshold": round(g["rejected_at_stored_threshold"] / g["clips"], 4),
            }
            for kind, g in sorted(groups.items())
        },
    }


def clipped_frr(
    model,
    meta: dict,
    corpus: Path,
    positives: list[Utterance],
    kinds: dict[str, str],
    gain_db: float,
    threshold: float,
) -> dict:
    """FRR at ``threshold`` on ``positives`` driven ``gain_db`` above full scale and
    hard-clipped (a loud talker saturating the microphone), per voice kind."""
    import numpy as np
    import torch

    from speech.audio import load_wav
    from speech.data.features import FeatureConfig
    from speech.data.manifest import audio_path
    from speech.kws.stream import clip_scores

    frontend = FeatureConfig(**meta["features"]).build()
    smoothing = meta["extra"]["smoothing"]
    manifest = corpus / "manifest.jsonl"
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for u in positives:
        wave = load_wav(audio_path(manifest, u))
        driven = np.clip(wave / max(1e-4, float(np.abs(wave).max())) * 10 ** (gain_db / 20), -1, 1)
        with torch.no_grad():
            score = float(clip_scores(model, frontend, driven, smoothing).max())
        c = counts[kinds[u.speaker]]
        c[0] += score < threshold
        c[1] += 1
    return {kind: round(c[0] / c[1], 4) for kind, c in sorted(counts.items())}


def score_asr(checkpoint: Path, corpus: Path, kinds: dict[str, str], max_clips: int) -> dict:
    from speech.asr.evaluate import evaluate_asr
    from speech.asr.recognizer import Recognizer

    rec = Recognizer.load(checkpoint)
    with tempfile.TemporaryDirectory() as tmp:
        report = evaluate_asr(rec, corpus, Path(tmp), snrs=(), max_clips=max_clips)
        lines = [json.loads(x) for x in (Path(tmp) / "hypotheses.jsonl").read_text().splitlines()]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for x in lines:
        c = counts[kinds[x["speaker"]]]
        c[0] += word_errors(x["ref"].split(), x["text"].split())
        c[1] += len(x["ref"].split())
        c[2] += word_errors(list(x["ref"]), list(x["text"]))
        c[3] += len(x["ref"])
        c[4] += 1
    return {
        "decoder": report["decoder"],
        "wer_per_speaker": report["wer_per_speaker"],
        "groups": {
            kind: {
                "clips": c[4],
                "wer": round(c[0] / max(1, c[1]), 4),
                "cer": round(c[2] / max(1, c[3]), 4),
            }
            for kind, c in sorted(counts.items())
        },
    }


def _named(items: list[str]) -> list[tuple[str, Path]]:
    out = []
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not Path(path).is_file():
            raise SystemExit(f"error: expected NAME=CHECKPOINT with an existing file, not {item!r}")
        out.append((name, Path(path)))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m experiments.natural_voices", description=__doc__)
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--kws", action="append", default=[], metavar="NAME=CHECKPOINT")
    ap.add_argument("--asr", action="append", default=[], metavar="NAME=CHECKPOINT")
    ap.add_argument("--asr-clips", type=int, default=400, help="test requests scored")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    if not (args.corpus / "manifest.jsonl").is_file():
        sys.exit(f"error: {args.corpus} is not a built corpus (no manifest.jsonl)")
    kws, asr = _named(args.kws), _named(args.asr)
    utts = read_manifest(args.corpus / "manifest.jsonl")
    kinds = voice_kinds(utts)
    if "natural" not in set(kinds.values()):
        sys.exit(f"error: {args.corpus} has no natural (Kokoro) voices")
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "command": "python -m experiments.natural_voices " + " ".join(argv or sys.argv[1:]),
        "corpus": args.corpus.name,
        "test_speakers": {
            s: kinds[s]
            for s in sorted({u.speaker for u in utts if u.split == "test" and u.kind != "stream"})
        },
        "kws": {
            name: score_kws(p, args.corpus, utts, kinds) | {"checkpoint": str(p)} for name, p in kws
        },
        "asr": {
            name: score_asr(p, args.corpus, kinds, args.asr_clips) | {"checkpoint": str(p)}
            for name, p in asr
        },
    }
    for name, r in result["kws"].items():
        for kind, g in r["groups"].items():
            print(
                f"kws {name:12s} {kind:8s} {g['clips']:4d} positives  FRR "
                f"{g['frr_at_stored_threshold']:.1%} at the stored threshold, "
                f"{g['frr_at_0.5_fa_per_hour']:.1%} at 0.5 FA/h, "
                f"{r[f'frr_clipped_{CLIP_GAIN_DB:g}db_at_0.5_fa_per_hour'].get(kind, float('nan')):.1%}"
                f" clipped ({CLIP_GAIN_DB:g} dB overdrive) at 0.5 FA/h"
            )
    for name, r in result["asr"].items():
        for kind, g in r["groups"].items():
            print(
                f"asr {name:12s} {kind:8s} {g['clips']:4d} requests  WER {g['wer']:.1%}  CER {g['cer']:.1%}"
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
