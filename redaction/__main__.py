"""Redact or anonymize clips from the command line.

    python -m redaction redact IN.wav --out OUT.wav
    python -m redaction redact a.wav b.wav --out-dir redacted/
    python -m redaction anonymize IN.wav --out OUT.wav [--method pseudo|mcadams]

``redact`` transcribes (Whisper, with our recognizer as a second opinion), detects PII, bleeps
it, masks the transcript and anonymizes the voice. It prints one JSON line per clip:
``{"file", "transcript", "masked_transcript", "spans": [{"label", "start", "end", "t_start",
"t_end"}], "withheld", "reason", "id"}``. A redacted clip is written as ``OUT.wav`` with its
review record ``OUT.json`` beside it (no raw transcript in it). A withheld clip writes no audio
at all. Unreadable input is reported on its own line and on stderr, and the exit status is 2;
the other files are still processed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _outputs(files: list[str], out: str | None, out_dir: str | None) -> list[Path]:
    if out and len(files) > 1:
        raise ValueError("--out names one output; give --out-dir for several inputs")
    if out:
        return [Path(out)]
    if not out_dir:
        raise ValueError("give --out OUT.wav (one input) or --out-dir DIR")
    return [Path(out_dir) / Path(f).name for f in files]


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def redact(args) -> int:
    from redaction.audio import ClipError, read_clip
    from redaction.redact import RedactConfig, Redactor
    from redaction.transcribe import TranscriberError
    from speech.audio import save_wav

    outs = _outputs(args.files, args.out, args.out_dir)
    config = RedactConfig(
        whisper=args.whisper,
        second_opinion=None if args.no_second_opinion else args.second_opinion,
        min_confidence=args.min_confidence,
        mode=args.mode,
        anonymizer=args.anonymizer,
    )
    try:
        redactor = Redactor(config)
    except (TranscriberError, RuntimeError, ValueError) as e:
        _err(str(e))
        return 2
    status = 0
    for src, dst in zip(args.files, outs, strict=True):
        line: dict = {"file": src}
        try:
            wave = read_clip(src)
        except (ClipError, OSError) as e:
            line.update(withheld=True, reason=f"unreadable: {e}")
            _err(f"{src}: {e}")
            status = 2
            print(json.dumps(line), flush=True)
            continue
        result = redactor(wave, clip_id=str(Path(src).resolve()))
        line.update(result.as_dict())
        if result.clip is not None:
            dst.parent.mkdir(parents=True, exist_ok=True)
            save_wav(dst, result.clip.audio)
            dst.with_suffix(".json").write_text(json.dumps(result.clip.record(), indent=1))
            line["out"] = str(dst)
        print(json.dumps(line), flush=True)
    return status


def anonymize(args) -> int:
    from redaction.anonymize import AnonymizationError, Anonymizer
    from redaction.audio import ClipError, read_clip
    from speech.audio import save_wav

    outs = _outputs(args.files, args.out, args.out_dir)
    anon = Anonymizer(args.method, alpha=args.alpha, secret=args.secret)
    status = 0
    for src, dst in zip(args.files, outs, strict=True):
        try:
            wave = read_clip(src)
            out = anon(wave, key=args.key or str(Path(src).resolve()))
        except (ClipError, OSError, AnonymizationError) as e:
            _err(f"{src}: {e}")
            print(json.dumps({"file": src, "withheld": True, "reason": str(e)}), flush=True)
            status = 2
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        save_wav(dst, out)
        print(json.dumps({"file": src, "out": str(dst), "method": args.method}), flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m redaction", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("redact", help="transcribe, detect PII, bleep, anonymize")
    r.add_argument("files", nargs="+")
    r.add_argument("--out")
    r.add_argument("--out-dir")
    r.add_argument("--whisper", default="tiny.en", help="tiny.en | base | a CTranslate2 directory")
    r.add_argument("--second-opinion", default="models/asr-tiny/model.pt")
    r.add_argument("--no-second-opinion", action="store_true")
    r.add_argument("--min-confidence", type=float, default=0.5)
    r.add_argument("--mode", default="bleep", choices=["bleep", "silence", "noise"])
    r.add_argument("--anonymizer", default="pseudo", choices=["pseudo", "mcadams"])
    a = sub.add_parser("anonymize", help="anonymize the voice only")
    a.add_argument("files", nargs="+")
    a.add_argument("--out")
    a.add_argument("--out-dir")
    a.add_argument("--method", default="pseudo", choices=["pseudo", "mcadams"])
    a.add_argument("--alpha", type=float, default=0.8, help="McAdams coefficient")
    a.add_argument("--key", help="pseudo-voice key (default: the file's path)")
    a.add_argument("--secret", default="", help="deployment secret keying the pseudo-voices")
    args = p.parse_args(argv)
    try:
        return redact(args) if args.command == "redact" else anonymize(args)
    except ValueError as e:
        _err(str(e))
        return 2


if __name__ == "__main__":
    sys.exit(main())
