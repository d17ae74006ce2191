"""Recognizer command line.

    python -m speech.asr transcribe [--model PATH] [--decoder beam|greedy]
                                    [--max-segment-seconds S] FILE.wav|DIR ...
    python -m speech.asr tune --model PATH --manifest CORPUS/manifest.jsonl [--clips N]
    python -m speech.asr lm --model PATH [--sentences N] [--order K] [--prune C] [--beam B]

A directory argument stands for the ``.wav`` files directly inside it, sorted by name
(subdirectories are not searched). Prints one JSON line per file: ``{"file", "text",
"confidence", "words": [{"w", "start", "end", "conf"}]}``, plus ``"warnings"`` for audio that
was resampled, mixed down, silent or clipped, and ``{"file", "error"}`` for a file that cannot
be used: missing, corrupt, not audio, empty (zero bytes, or a WAV header with no samples), or
a directory with no WAV files. Silent audio gives an empty transcript with confidence 0.
Recordings longer than ``--max-segment-seconds`` (default 12, the longest training clip) are
cut at pauses and decoded piece by piece (:mod:`speech.asr.segment`). Exit status: 0 when
every file was processed, 1 when some failed (the others are still transcribed), 2 when the
model could not be loaded.

``lm`` rebuilds the checkpoint's character LM (:func:`speech.asr.lm.build_lm`) without
retraining the acoustic model. ``tune`` grid-searches the beam decoder's LM weight and word
bonus on the corpus's *dev* requests, re-measures the word-time offsets there
(:func:`speech.asr.decode.time_offsets`), and writes both into the checkpoint (held-out test
data is never used).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from speech.audio import AudioError, audio_warnings, expand_audio_args, load_wav
from speech.checkpoint import CheckpointError

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "asr-whisper-head" / "model.pt"


def transcribe_files(
    files: list[str],
    model_path: Path,
    decoder: str | None,
    max_segment_seconds: float | None = None,
) -> int:
    """Print one JSON line per file (directories expanded); returns the exit status."""
    from speech.asr.recognizer import Recognizer

    try:
        rec = Recognizer.load(model_path, decoder=decoder, max_segment_seconds=max_segment_seconds)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for f in expand_audio_args(files):
        try:
            wave = load_wav(f)
        except AudioError as exc:
            print(json.dumps({"file": f, "error": str(exc)}))
            failed += 1
            continue
        line = {"file": f, **rec.transcribe(wave).as_dict()}
        if warns := audio_warnings(f, wave, silent="silent audio: empty transcript"):
            line["warnings"] = warns
        print(json.dumps(line), flush=True)
    return 1 if failed else 0


def tune(model_path: Path, manifest: Path, clips: int) -> dict:
    """Pick ``lm_weight`` and ``word_bonus`` by dev WER and measure the word-time offsets on
    dev; store them in the checkpoint."""
    import itertools

    from speech.asr.decode import BeamSearch, align_words, time_offsets
    from speech.asr.evaluate import select_clips
    from speech.asr.lm import CharNgram
    from speech.asr.recognizer import Recognizer
    from speech.checkpoint import read_checkpoint, write_checkpoint
    from speech.data.align import word_errors
    from speech.data.manifest import audio_path, read_manifest

    rec = Recognizer.load(model_path, decoder="greedy")
    payload = read_checkpoint(model_path)
    if not payload["extra"].get("lm"):
        raise SystemExit(f"{model_path}: the checkpoint has no language model to tune")
    ngram = CharNgram.from_dict(payload["extra"]["lm"])
    utts = [u for u in read_manifest(manifest) if u.split == "dev" and u.kind == "request"]
    utts = select_clips(utts, clips, seed=0)
    emissions = [rec.log_probs(load_wav(audio_path(manifest, u))) for u in utts]
    results = []
    for weight, bonus in itertools.product((0.5, 0.65, 0.8, 1.0, 1.2, 1.5), (-1.0, 0.0, 1.0, 2.0)):
        beam = BeamSearch(
            rec.vocab,
            ngram,
            beam_size=payload["extra"].get("beam_size", 32),
            lm_weight=weight,
            word_bonus=bonus,
        )
        errors = sum(
            word_errors(u.text.split(), beam(lp).split())
            for u, lp in zip(utts, emissions, strict=True)
        )
        words = sum(len(u.text.split()) for u in utts)
        results.append({"lm_weight": weight, "word_bonus": bonus, "wer": round(errors / words, 4)})
        print(json.dumps(results[-1]), flush=True)
    greedy_errors = sum(
        word_errors(u.text.split(), rec.decode(lp).split())
        for u, lp in zip(utts, emissions, strict=True)
    )
    best = min(results, key=lambda r: r["wer"])
    fs = rec.model.frame_seconds
    offsets = time_offsets(
        (align_words(lp, u.text, rec.vocab, frame_seconds=fs), u.words)
        for u, lp in zip(utts, emissions, strict=True)
    )
    best["time_offsets"] = [round(x, 4) for x in offsets]
    payload["extra"].update(
        lm_weight=best["lm_weight"], word_bonus=best["word_bonus"], time_offsets=list(offsets)
    )
    payload["extra"]["tuning"] = {
        "dev_clips": len(utts),
        "greedy_wer": round(greedy_errors / sum(len(u.text.split()) for u in utts), 4),
        "grid": results,
    }
    write_checkpoint(payload, model_path)
    return best


def rebuild_lm(model_path: Path, sentences: int, order: int, prune: int, beam: int) -> dict:
    from speech.asr.lm import build_lm
    from speech.checkpoint import read_checkpoint, write_checkpoint

    payload = read_checkpoint(model_path)
    lm = build_lm(sentences, order=order, prune=prune)
    payload["extra"].update(lm=lm.as_dict(), beam_size=beam)
    payload["extra"]["lm_settings"] = {"sentences": sentences, "order": order, "prune": prune}
    write_checkpoint(payload, model_path)
    return {"contexts": len(lm.counts), **payload["extra"]["lm_settings"]}


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, not {text!r}")
    return value


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m speech.asr", description="sottovoce recognizer")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("transcribe", help="transcribe audio files")
    t.add_argument(
        "files",
        nargs="+",
        metavar="FILE.wav|DIR",
        help="audio files; a directory stands for the .wav files in it (sorted, not recursive)",
    )
    t.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL, help="checkpoint (default: shipped model)"
    )
    t.add_argument(
        "--decoder",
        choices=["beam", "greedy"],
        default=None,
        help="beam search with the model's LM (default when it has one) or greedy",
    )
    t.add_argument(
        "--max-segment-seconds",
        type=_positive_seconds,
        default=None,
        help="recordings longer than this are cut at pauses and decoded piece by piece "
        "(default: 12, the longest training clip)",
    )
    u = sub.add_parser("tune", help="tune the beam decoder's weights on dev requests")
    u.add_argument("--model", type=Path, required=True)
    u.add_argument("--manifest", type=Path, required=True)
    u.add_argument("--clips", type=int, default=100)
    m = sub.add_parser("lm", help="rebuild the checkpoint's character LM")
    m.add_argument("--model", type=Path, required=True)
    m.add_argument("--sentences", type=int, default=50000)
    m.add_argument("--order", type=int, default=8)
    m.add_argument("--prune", type=int, default=5)
    m.add_argument("--beam", type=int, default=32)
    args = ap.parse_args(argv)
    if args.cmd == "lm":
        print(json.dumps(rebuild_lm(args.model, args.sentences, args.order, args.prune, args.beam)))
        return
    if args.cmd == "tune":
        print(json.dumps({"best": tune(args.model, args.manifest, args.clips)}))
        return
    sys.exit(transcribe_files(args.files, args.model, args.decoder, args.max_segment_seconds))


if __name__ == "__main__":
    main()
