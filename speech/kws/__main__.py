"""Wake-word command line.

    python -m speech.kws detect [--model PATH] [--threshold T] FILE.wav|DIR ...
    python -m speech.kws export [--model PATH] OUT_DIR
    python -m speech.kws calibrate [--model PATH] [--out PATH] [--target FA_PER_HOUR]
                                   CORPUS_DIR | NEGATIVE.wav ...
    python -m speech.kws variants CORPUS_DIR [--per-voice N] [--workers N] [--no-accents]

``detect`` takes files, or directories standing for the ``.wav`` files directly inside them
(sorted by name, subdirectories not searched). It prints one JSON line per file: ``{"file",
"detections": [{"time", "score"}]}``, plus ``"warnings"`` when the audio is silent, clipped,
stereo (mixed down) or at another sample rate (resampled), and ``{"file", "error"}`` for a
file that cannot be used: empty (zero bytes, or a WAV header with no samples), corrupt,
missing, or a directory with no WAV files. Exit status: 0 when every file was processed, 1
when some failed (the others are still processed), 2 when the model could not be loaded.

``calibrate`` sets the threshold stored in a checkpoint: the lowest one with at most
``--target`` false accepts per hour (default 0.5) on negative audio, either a built corpus's
test-split streams or WAV recordings known not to contain the phrase (a deployment's own). It
writes the checkpoint (``--out``, default: in place) with ``extra.threshold`` and, in
``extra.threshold_from``, the audio, hours and false accepts it came from; exit status 2 on bad
input (model, audio, or no threshold within the target).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from speech.audio import AudioError, audio_warnings, expand_audio_args, load_wav
from speech.checkpoint import CheckpointError, load_model

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "kws-hey-nova" / "model.pt"


def detect_files(files: list[str], model_path: Path, threshold: float | None) -> int:
    from speech.data.features import FeatureConfig
    from speech.kws.stream import clip_scores, detect

    try:
        model, meta = load_model(model_path, task="kws")
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frontend = FeatureConfig.from_dict(meta["features"]).build()
    extra = meta["extra"]
    thr = extra["threshold"] if threshold is None else threshold
    failed = 0
    for f in expand_audio_args(files):
        try:
            wave = load_wav(f)
        except AudioError as exc:
            print(json.dumps({"file": f, "error": str(exc)}))
            failed += 1
            continue
        scores = clip_scores(model, frontend, wave, smoothing=extra["smoothing"])
        found = detect(
            scores.numpy(),
            threshold=thr,
            refractory=extra["refractory"],
            hop=frontend.hop_length,
            window=frontend.n_fft,
        )
        line = {"file": f, "detections": [{"time": d.time, "score": d.score} for d in found]}
        if warns := audio_warnings(f, wave, silent="silent audio: nothing to detect"):
            line["warnings"] = warns
        print(json.dumps(line))
    return 1 if failed else 0


def _negatives(sources: list[Path]) -> tuple[list[Path], str]:
    """A corpus directory's test streams, or the WAV files themselves."""
    if len(sources) == 1 and (sources[0] / "manifest.jsonl").is_file():
        from speech.data.manifest import audio_path, read_manifest

        manifest = sources[0] / "manifest.jsonl"
        streams = [u for u in read_manifest(manifest) if u.kind == "stream" and u.split == "test"]
        if not streams:
            raise ValueError(f"{sources[0]}: the corpus has no test-split streams")
        return [audio_path(manifest, u) for u in streams], f"{sources[0].name} test streams"
    for s in sources:
        if s.is_dir():
            raise ValueError(f"{s}: a directory but not a built corpus (no manifest.jsonl)")
    return sources, f"{len(sources)} recordings"


def calibrate(sources: list[Path], model_path: Path, out: Path | None, target: float) -> int:
    from speech.checkpoint import read_checkpoint, write_checkpoint
    from speech.kws.evaluate import calibrate_threshold

    try:
        model, meta = load_model(model_path, task="kws")
        files, what = _negatives(sources)
        found = calibrate_threshold(model, meta, files, target_fa_per_hour=target)
    except (CheckpointError, AudioError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    payload = read_checkpoint(model_path)
    payload["extra"]["threshold"] = found["threshold"]
    payload["extra"]["threshold_from"] = {"audio": what, **found}
    path = write_checkpoint(payload, out or model_path)
    print(json.dumps({"model": str(path), "audio": what, **found}))
    return 0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m speech.kws", description="sottovoce wake word")
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("detect", help="find the wake phrase in audio files")
    d.add_argument(
        "files",
        nargs="+",
        metavar="FILE.wav|DIR",
        help="audio files; a directory stands for the .wav files in it (sorted, not recursive)",
    )
    d.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL, help="checkpoint (default: shipped model)"
    )
    d.add_argument(
        "--threshold", type=float, default=None, help="override the checkpoint's threshold"
    )
    e = sub.add_parser("export", help="export the model to ONNX")
    e.add_argument("out_dir", type=Path)
    e.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    c = sub.add_parser("calibrate", help="set the stored threshold from negative audio")
    c.add_argument("negatives", nargs="+", type=Path, help="a built corpus, or WAV files")
    c.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    c.add_argument("--out", type=Path, default=None, help="write here (default: in place)")
    c.add_argument("--target", type=float, default=0.5, help="false accepts per hour")
    v = sub.add_parser(
        "variants", help="render extra wake-phrase training clips (speech.kws.variants)"
    )
    v.add_argument("corpus", type=Path, help="a built corpus directory")
    v.add_argument(
        "--per-voice",
        type=int,
        default=100,
        help="wake clips per voice (and as many confusables and ordinary sentences)",
    )
    v.add_argument("--workers", type=int, default=2)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument(
        "--accents",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="add espeak-ng voices with other English accents (default: yes)",
    )
    args = ap.parse_args(argv)
    if args.cmd == "variants":
        from speech.kws.variants import build_variants, summary

        if not (args.corpus / "spec.json").is_file():
            print(f"error: {args.corpus} is not a built corpus (no spec.json)", file=sys.stderr)
            sys.exit(2)
        try:
            path = build_variants(
                args.corpus,
                per_voice=args.per_voice,
                seed=args.seed,
                accents=args.accents,
                workers=args.workers,
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(2)
        print(json.dumps({"manifest": str(path), **summary(path)}))
        return
    if args.cmd == "calibrate":
        sys.exit(calibrate(args.negatives, args.model, args.out, args.target))
    if args.cmd == "detect":
        sys.exit(detect_files(args.files, args.model, args.threshold))
    from speech.kws.export import export_onnx

    try:
        model, meta = load_model(args.model, task="kws")
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps({k: str(v) for k, v in export_onnx(model, meta, args.out_dir).items()}))


if __name__ == "__main__":
    main()
