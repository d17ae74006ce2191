"""Recognizer command line.

    python -m speech.asr transcribe [--model PATH] [--decoder beam|greedy] FILE.wav ...

Prints one JSON line per file: ``{"file", "text", "confidence", "words": [{"w", "start",
"end", "conf"}]}``, plus ``"warnings"`` for audio that was resampled, mixed down, silent or
clipped, and ``"error"`` for a file that cannot be read (corrupt, missing, not audio).
Empty or silent audio gives an empty transcript with confidence 0. Exit status: 0 when
every file was processed, 1 when some failed, 2 when the model could not be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from speech.audio import AudioError, audio_warnings, load_wav
from speech.checkpoint import CheckpointError

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "asr-tiny" / "model.pt"


def transcribe_files(files: list[str], model_path: Path, decoder: str | None) -> int:
    from speech.asr.recognizer import Recognizer

    try:
        rec = Recognizer.load(model_path, decoder=decoder)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for f in files:
        try:
            # A zero-byte file is an empty recording, not a corrupt one: empty transcript.
            empty = Path(f).is_file() and Path(f).stat().st_size == 0
            wave = np.zeros(0, np.float32) if empty else load_wav(f, allow_empty=True)
        except AudioError as exc:
            print(json.dumps({"file": f, "error": str(exc)}))
            failed += 1
            continue
        line = {"file": f, **rec.transcribe(wave).as_dict()}
        if warns := audio_warnings(f, wave, silent="silent audio: empty transcript"):
            line["warnings"] = warns
        print(json.dumps(line), flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m speech.asr", description="sottovoce recognizer")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("transcribe", help="transcribe audio files")
    t.add_argument("files", nargs="+")
    t.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL, help="checkpoint (default: shipped model)"
    )
    t.add_argument(
        "--decoder",
        choices=["beam", "greedy"],
        default=None,
        help="beam search with the model's LM (default when it has one) or greedy",
    )
    args = ap.parse_args(argv)
    sys.exit(transcribe_files(args.files, args.model, args.decoder))


if __name__ == "__main__":
    main()
