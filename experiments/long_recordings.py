"""Long recordings: the recognizer on held-out requests joined into one file, against clip by clip.

    python -m experiments.long_recordings --corpus corpora/default-98a9c78c
    python -m experiments.long_recordings --corpus DIR --lengths 14 180 --pause 0.3 \\
        --model models/asr-tiny/model.pt --out outputs/long-recordings

The corpus's clean requests of one split (``test`` by default: voices the shipped model never
heard, and all clean in a default corpus) are put in a fixed order (a shuffle seeded by ``--seed``) and consecutive ones are joined, with
``--pause`` seconds of silence between them, into files of about each of ``--lengths`` seconds
(a file is closed once it reaches the length; left-over requests at the end are not used).
Each file is transcribed two ways:

* ``before``: cut only into pieces of at most 20 s (:func:`speech.asr.recognizer.chunks`), as
  ``Recognizer.transcribe`` did until it cut at pauses;
* ``after``: ``Recognizer.transcribe`` as it is (cut at pauses, :mod:`speech.asr.segment`);

and every joined request is also transcribed alone, the clip-by-clip reference. WER is pooled
over the same requests on all sides. Word times of each joined transcript are compared with
the clip-by-clip times plus the clip's offset in the file (words paired by ``difflib``
matching): median, 95th percentile and maximum of the absolute start and end differences, and
the share of paired words whose start and end are both within 0.15 s. Everything runs on one
thread in a fixed order, so a rerun prints the same figures. The table is printed and written
with the per-file rows to ``OUT/summary.json``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from speech import SAMPLE_RATE
from speech.asr.recognizer import Recognizer, Transcript, chunks
from speech.audio import load_wav
from speech.data.align import word_errors
from speech.data.manifest import Utterance, audio_path, read_manifest

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "asr-tiny" / "model.pt"
BEFORE_CHUNK_SECONDS = 20.0  # the fixed-length pieces of the recognizer before this change
TIME_TOLERANCE = 0.15  # seconds


def plan_joins(
    durations: list[float], target_seconds: float, pause_seconds: float
) -> list[list[int]]:
    """Consecutive indices into ``durations`` grouped into files of about ``target_seconds``.

    A group is closed as soon as its clips plus the pauses between them reach the target; an
    unfinished group at the end is dropped.
    """
    groups, current, length = [], [], 0.0
    for i, d in enumerate(durations):
        length += d + (pause_seconds if current else 0.0)
        current.append(i)
        if length >= target_seconds:
            groups.append(current)
            current, length = [], 0.0
    return groups


def join(waves: list[np.ndarray], pause_seconds: float) -> tuple[np.ndarray, list[float]]:
    """The clips with ``pause_seconds`` of silence between them, and each clip's offset (s)."""
    pause = np.zeros(round(pause_seconds * SAMPLE_RATE), np.float32)
    parts, offsets, at = [], [], 0
    for i, w in enumerate(waves):
        if i:
            parts.append(pause)
            at += pause.size
        offsets.append(at / SAMPLE_RATE)
        parts.append(w)
        at += w.size
    return np.concatenate(parts), offsets


def time_differences(
    joined: Transcript, clips: list[Transcript], offsets: list[float]
) -> list[tuple[float, float]]:
    """(start, end) differences in seconds between the joined transcript's words and the same
    words of the clips' transcripts shifted by the clips' offsets (words paired by matching)."""
    ref = [(w.w, w.start + off, w.end + off) for t, off in zip(clips, offsets, strict=True)
           for w in t.words]  # fmt: skip
    hyp = joined.words
    matcher = difflib.SequenceMatcher(a=[r[0] for r in ref], b=[h.w for h in hyp], autojunk=False)
    out = []
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            r, h = ref[block.a + k], hyp[block.b + k]
            out.append((h.start - r[1], h.end - r[2]))
    return out


def time_summary(diffs: list[tuple[float, float]]) -> dict[str, Any]:
    if not diffs:
        return {"paired_words": 0}
    a = np.abs(np.asarray(diffs))
    return {
        "paired_words": len(diffs),
        "median_s": round(float(np.median(a)), 4),
        "p95_s": round(float(np.percentile(a, 95)), 4),
        "max_s": round(float(a.max()), 4),
        "within_tolerance": round(float(np.mean(a.max(1) <= TIME_TOLERANCE)), 4),
    }


def run(
    corpus: Path,
    model: Path,
    *,
    split: str,
    lengths: list[float],
    pause: float,
    seed: int,
    max_requests: int | None,
) -> dict[str, Any]:
    torch.set_num_threads(1)
    manifest = corpus / "manifest.jsonl"
    # Clean clips only: the joins put digital silence between clips, and a noisy clip's
    # background would start and stop at its edges, as in no real recording.
    utts: list[Utterance] = [
        u
        for u in read_manifest(manifest)
        if u.split == split and u.kind == "request" and u.augment is None
    ]
    if not utts:
        raise SystemExit(f"{manifest}: no clean {split}-split requests")
    order = np.random.default_rng(seed).permutation(len(utts))
    utts = [utts[i] for i in order][:max_requests]
    rec = Recognizer.load(model)
    waves = [load_wav(audio_path(manifest, u)) for u in utts]
    started = time.perf_counter()
    alone = [rec.transcribe(w) for w in waves]
    print(f"{len(utts)} requests clip by clip: {time.perf_counter() - started:.0f} s", flush=True)
    result: dict[str, Any] = {
        "corpus": corpus.name,
        "model": str(model),
        "split": split,
        "requests": len(utts),
        "pause_s": pause,
        "seed": seed,
        "max_segment_seconds": rec.max_segment_seconds,
        "joins": [],
    }
    for target in lengths:
        groups = plan_joins([w.size / SAMPLE_RATE for w in waves], target, pause)
        if not groups:
            print(f"not enough requests for a {target:g} s file", file=sys.stderr)
            continue
        words = errors_alone = errors_before = errors_after = 0
        diffs: list[tuple[float, float]] = []
        files = []
        for g in groups:
            wave, offsets = join([waves[i] for i in g], pause)
            ref = " ".join(utts[i].text for i in g).split()
            before = rec.transcribe_pieces(chunks(wave, int(BEFORE_CHUNK_SECONDS * SAMPLE_RATE)))
            after = rec.transcribe(wave)
            e_alone = sum(word_errors(utts[i].text.split(), alone[i].text.split()) for i in g)
            e_before = word_errors(ref, before.text.split())
            e_after = word_errors(ref, after.text.split())
            diffs += (d := time_differences(after, [alone[i] for i in g], offsets))
            words += len(ref)
            errors_alone, errors_before, errors_after = (
                errors_alone + e_alone,
                errors_before + e_before,
                errors_after + e_after,
            )
            files.append(
                {
                    "requests": [utts[i].id for i in g],
                    "seconds": round(wave.size / SAMPLE_RATE, 2),
                    "words": len(ref),
                    "wer_clip_by_clip": round(e_alone / len(ref), 4),
                    "wer_before": round(e_before / len(ref), 4),
                    "wer_after": round(e_after / len(ref), 4),
                    "segments": len(rec.segments(wave)),
                    "times_after": time_summary(d),
                }
            )
        seconds = [f["seconds"] for f in files]
        row = {
            "target_s": target,
            "files": len(files),
            "requests": sum(len(g) for g in groups),
            "words": words,
            "mean_seconds": round(float(np.mean(seconds)), 1),
            "wer_clip_by_clip": round(errors_alone / words, 4),
            "wer_before": round(errors_before / words, 4),
            "wer_after": round(errors_after / words, 4),
            "times_after": time_summary(diffs),
            "per_file": files,
        }
        result["joins"].append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "per_file"}), flush=True)
    return result


def table(result: dict[str, Any]) -> str:
    lines = [
        "| file length | files | requests | words | WER clip by clip | WER joined, before "
        "| WER joined, after | word times: median / p95 / max diff, share within 0.15 s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["joins"]:
        t = r["times_after"]
        lines.append(
            f"| {r['mean_seconds']:g} s (target {r['target_s']:g} s) | {r['files']} "
            f"| {r['requests']} | {r['words']} | {r['wer_clip_by_clip']:.1%} "
            f"| {r['wer_before']:.1%} | {r['wer_after']:.1%} "
            f"| {t.get('median_s', 0):.3f} / {t.get('p95_s', 0):.3f} / {t.get('max_s', 0):.3f} s, "
            f"{t.get('within_tolerance', 0):.1%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m experiments.long_recordings",
        description="WER of held-out requests joined into long files, against clip by clip",
    )
    p.add_argument("--corpus", type=Path, required=True, help="a built corpus directory")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--split", default="test", choices=["train", "dev", "test"])
    p.add_argument(
        "--lengths", type=float, nargs="+", default=[14.0, 180.0], help="file lengths, seconds"
    )
    p.add_argument("--pause", type=float, default=0.3, help="silence between requests, seconds")
    p.add_argument("--seed", type=int, default=0, help="order of the requests")
    p.add_argument("--max-requests", type=int, default=None, help="use the first N (shuffled)")
    p.add_argument("--out", type=Path, default=Path("outputs/long-recordings"))
    args = p.parse_args(argv)
    result = run(
        args.corpus,
        args.model,
        split=args.split,
        lengths=args.lengths,
        pause=args.pause,
        seed=args.seed,
        max_requests=args.max_requests,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(result, indent=1))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
