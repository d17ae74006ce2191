"""PII spans for transcripts, as JSON lines.

    echo '{"id": "a1", "words": ["call", "john", "at", "five", "five", "five", "one", "two", "three", "four"]}' \\
        | python -m redaction.pii
    # {"id": "a1", "words": [...], "spans": [{"label": "PERSON", "start": 1, "end": 2, "score": 0.9}, ...]}
    python -m redaction.pii --text "call john at five five five one two three four" --mask

Each input line is a JSON object with a ``words`` list of strings; it is written back with every
field kept and ``spans`` added (word indices, end exclusive), ``masked`` too with ``--mask``.
A bad line (not JSON, no ``words``, words not strings) stops the run with a one-line error naming
the line on stderr and exit status 2; the lines already written stay valid JSON lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import IO, Any

EXIT_BAD_INPUT = 2


class BadLine(ValueError):
    """An input line that is not a JSON object with a list of strings under ``words``."""


def parse_line(line: str) -> dict[str, Any]:
    """The record on one input line, or :class:`BadLine` saying what is wrong with it."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise BadLine(f"not JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(record, dict):
        raise BadLine(f"expected a JSON object, got {type(record).__name__}")
    if "words" not in record:
        raise BadLine('no "words" field (expected {"words": ["call", "john", ...]})')
    words = record["words"]
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise BadLine('"words" must be a list of strings')
    return record


def annotate(record: dict[str, Any], *, with_mask: bool = False) -> dict[str, Any]:
    """``record`` with ``spans`` (and ``masked``) added."""
    from redaction.pii import detect, mask

    spans = detect(record["words"])
    out = dict(record)
    out["spans"] = [
        {"label": s.label, "start": s.start, "end": s.end, "score": s.score} for s in spans
    ]
    if with_mask:
        out["masked"] = mask(record["words"], spans)
    return out


def run(stdin: IO[str], stdout: IO[str], stderr: IO[str], *, with_mask: bool = False) -> int:
    """Annotate JSON lines from ``stdin``; the exit status (0, or 2 on bad input)."""
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            record = parse_line(line)
        except BadLine as e:
            print(f"error: line {number}: {e}", file=stderr)
            return EXIT_BAD_INPUT
        stdout.write(json.dumps(annotate(record, with_mask=with_mask), ensure_ascii=False) + "\n")
        stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (0, or 2 on bad input)."""
    p = argparse.ArgumentParser(
        prog="python -m redaction.pii",
        description="Add PII spans to JSON lines read from stdin (a 'words' list per line).",
    )
    p.add_argument("--text", help="one plain sentence instead of JSON lines on stdin")
    p.add_argument("--mask", action="store_true", help="also write the masked transcript")
    args = p.parse_args(argv)
    if args.text is not None:
        record = annotate({"words": args.text.split()}, with_mask=args.mask)
        print(json.dumps(record, ensure_ascii=False))
        return 0
    return run(sys.stdin, sys.stdout, sys.stderr, with_mask=args.mask)


if __name__ == "__main__":
    sys.exit(main())
