"""The redaction stage on a corpus's held-out requests: escalate, redact, anonymize, enqueue.

    python -m redaction.demo [--corpus corpora/default-XXXX] [--clips 6] [--out outputs/redaction/demo]

Takes held-out requests with PII from the corpus (their manifest's ``pii`` slots), lets the
escalation policy decide on them (every one consented and sampled, so that the demo has
something to show), redacts the escalated ones (``redaction.redact``), enqueues the redacted
clips in a SQLite review queue, and prints a table: what was said, what a reviewer will read,
and the command that opens the reviewer UI on that queue.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path


def _corpus(path: str | None) -> Path:
    if path:
        return Path(path)
    found = sorted(Path("corpora").glob("default-*/manifest.jsonl"))
    if not found:
        raise SystemExit("error: no default corpus: run python -m speech.data.synth first")
    return found[-1].parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus")
    p.add_argument("--clips", type=int, default=6)
    p.add_argument("--out", default="outputs/redaction/demo")
    args = p.parse_args(argv)

    from redaction.escalate import Clip, DecisionLog, EscalationPolicy
    from redaction.redact import Redactor
    from speech.audio import load_wav, save_wav
    from speech.data.manifest import audio_path, read_manifest

    corpus = _corpus(args.corpus)
    out = Path(args.out)
    (out / "redacted").mkdir(parents=True, exist_ok=True)
    manifest = corpus / "manifest.jsonl"
    picks, seen = [], set()
    for u in read_manifest(manifest):
        labels = {s.label for s in u.pii}
        if u.kind == "request" and u.split == "test" and labels and not labels <= seen:
            picks.append(u)
            seen |= labels
        if len(picks) == args.clips:
            break
    os.environ.setdefault("SOTTOVOCE_ESCALATE_KEY", "demo-key-0123456789abcdef")
    policy = EscalationPolicy(sample_rate=1.0, max_per_day=100, max_total=100)
    log_path = out / "escalations.jsonl"
    log_path.unlink(missing_ok=True)
    log = DecisionLog(log_path)
    redactor = Redactor()
    rows = []
    for u in picks:
        decision = log.decide(
            policy,
            Clip.from_dict(
                {
                    "clip": u.id,
                    "device": u.device,
                    "confidence": 0.9,
                    "false_wake": False,
                    "consent": True,
                }
            ),
        )
        if not decision.escalate:
            rows.append((u.text, f"kept on the device: {decision.reason}"))
            continue
        result = redactor(load_wav(audio_path(manifest, u)), clip_id=u.id, device=u.device)
        if result.withheld:
            log.record_outcome(u.id, withheld=result.reason)
            rows.append((u.text, f"withheld: {result.reason}"))
            continue
        name = out / "redacted" / f"{result.clip.id}.wav"
        save_wav(name, result.clip.audio)
        name.with_suffix(".json").write_text(json.dumps(result.clip.record(), indent=1))
        log.record_outcome(u.id, redacted_id=result.clip.id)
        rows.append((u.text, result.masked_transcript))
    db = f"sqlite:///{(out / 'review.db').resolve()}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "redaction.review",
            "enqueue",
            str(out / "redacted"),
            "--db",
            db,
            "--data-dir",
            str(out / "review-data"),
        ],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    width = max(len(a) for a, _ in rows)
    print(f"{'said on the device':<{width}}  what a reviewer reads")
    for a, b in rows:
        print(f"{a:<{width}}  {b}")
    print(f"\nreview queue: {db}")
    where = f"--db {db} --data-dir {out / 'review-data'}"
    print(
        f"open it: python -m redaction.review add-reviewer alice {where} && "
        f"python -m redaction.review serve {where}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
