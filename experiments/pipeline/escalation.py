"""The escalation stage: the devices' requests through the escalation policy, the escalated
ones redacted and anonymized, and the redacted clips enqueued for review.

Each request of the federated population (``devices``; ``escalate.max_clips`` of them, spread
evenly over the homes) is transcribed on its device by our recognizer, whose confidence
drives the policy (``conf/redaction/escalate.yaml``, ``escalate.policy``): a clip below the
floor escalates, a consented sample of the rest escalates, an empty transcript is a suspected
false wake and stays. Every decision goes to an append-only log
(:class:`redaction.escalate.DecisionLog`); escalated clips go through
:class:`redaction.redact.Redactor` (Whisper, our second opinion, PII detection, bleeping,
a fresh pseudo-speaker), and what is not withheld is enqueued in a SQLite review queue with
``python -m redaction.review enqueue``, as a device's uploads would be.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hydra.utils import instantiate, to_absolute_path
from omegaconf import OmegaConf
from tqdm import tqdm

from experiments.pipeline.build import checkpoint
from experiments.pipeline.runner import Context, PipelineError, shown
from experiments.pipeline.tools import command_line, run_tool


def consents(device: str, share: float) -> bool:
    """A stable draw per device: whether its owner consented to human review."""
    return int(hashlib.sha256(device.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def spread(utts: list, n: int) -> list:
    """At most ``n`` clips, taking each device's first clip, then each one's second, ..."""
    by_device: dict[str, list] = {}
    for u in sorted(utts, key=lambda u: u.id):
        by_device.setdefault(u.device, []).append(u)
    rounds = max((len(v) for v in by_device.values()), default=0)
    order = [v[i] for i in range(rounds) for _, v in sorted(by_device.items()) if i < len(v)]
    return order[:n]


def reason_kind(reason: str) -> str:
    """A withholding reason without its numbers or details, to count reasons by kind."""
    return re.sub(r"\s+", " ", re.sub(r"[\d.]+|:.*", "", reason)).strip()


def review_command(db: str, data_dir: Path, reviewer: str) -> str:
    """The one command that creates a reviewer and opens the review UI on this queue."""
    where = ["--db", db, "--data-dir", str(data_dir)]
    return " && ".join(
        command_line(["-m", "redaction.review", *a, *where])
        for a in (["add-reviewer", reviewer], ["serve"])
    )


def escalate(ctx: Context) -> dict[str, Any]:
    """Decide, redact and enqueue; counts by outcome and a few rows for the report."""
    import numpy as np

    from redaction.escalate import Clip, DecisionLog, EscalationError
    from redaction.redact import RedactConfig, Redactor
    from speech.asr.recognizer import Recognizer
    from speech.audio import load_wav, save_wav
    from speech.data.manifest import audio_path, read_manifest

    cfg = ctx.cfg.escalate
    out = ctx.stage_dir
    for old in ("redacted", "review-data", "escalations.jsonl", "review.db"):
        p = out / old  # a rerun starts a fresh log and queue: the log is append-only
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
    (out / "redacted").mkdir()
    key = os.environ.get(cfg.policy.key_env) or cfg.key
    try:
        policy = instantiate(cfg.policy, sample_key=key)
    except Exception as exc:
        raise PipelineError(f"escalate.policy: {exc.__cause__ or exc}") from None
    manifest = Path(ctx.results["corpus"]["devices"]["manifest"])
    clips = spread([u for u in read_manifest(manifest) if u.kind == "request"], cfg.max_clips)
    recognizer = checkpoint(ctx, "asr")
    ours = Recognizer.load(recognizer)
    redactor = Redactor(
        RedactConfig(
            whisper=cfg.redact.whisper,
            threads=cfg.redact.threads,
            second_opinion=to_absolute_path(cfg.redact.second_opinion)
            if cfg.redact.second_opinion
            else None,
        )
    )
    log = DecisionLog(out / "escalations.jsonl")
    start = datetime.fromisoformat(cfg.start)
    seen: Counter = Counter()
    decisions: Counter = Counter()
    withheld: Counter = Counter()
    rows, confidences = [], []
    for u in tqdm(clips, desc="escalate and redact", disable=not ctx.progress):
        wave = load_wav(audio_path(manifest, u))
        heard = ours.transcribe(wave)
        confidences.append(heard.confidence)
        when = start + timedelta(minutes=cfg.minutes_apart * seen[u.device])
        seen[u.device] += 1
        try:
            d = log.decide(
                policy,
                Clip.from_dict(
                    {
                        "clip": u.id,
                        "device": u.device,
                        "confidence": float(np.clip(heard.confidence, 0.0, 1.0)),
                        "false_wake": not heard.text.strip(),
                        "consent": consents(u.device, cfg.consent),
                        "time": when.isoformat(),
                    }
                ),
            )
        except EscalationError as exc:
            raise PipelineError(f"escalation: {exc}") from None
        decisions[f"{d.decision}:{d.reason}"] += 1
        if not d.escalate:
            continue
        result = redactor(wave, clip_id=u.id, device=u.device)
        if result.withheld:
            log.record_outcome(u.id, withheld=result.reason)
            withheld[reason_kind(result.reason)] += 1
            rows.append({"said": u.text, "reviewer_reads": f"(withheld: {result.reason})"})
            continue
        name = out / "redacted" / f"{result.clip.id}.wav"
        save_wav(name, result.clip.audio)
        name.with_suffix(".json").write_text(json.dumps(result.clip.record(), indent=1))
        log.record_outcome(u.id, redacted_id=result.clip.id)
        rows.append({"said": u.text, "reviewer_reads": result.masked_transcript})
    db = f"sqlite:///{shown(out / 'review.db')}"
    queued, refused = 0, 0
    redacted = sorted((out / "redacted").glob("*.json"))
    if redacted:
        args = ["-m", "redaction.review", "enqueue", str(out / "redacted")]
        args += ["--db", db, "--data-dir", str(out / "review-data")]
        code = run_tool(args, out / "enqueue.log", show_progress=False, ok=(0, 2))
        for line in (out / "enqueue.log").read_text().splitlines()[1:]:
            if line.startswith("{"):
                r = json.loads(line)
                queued += bool(r.get("queued"))
                refused += not r.get("queued")
        if code and not refused:
            raise PipelineError(f"enqueue failed (log: {out / 'enqueue.log'})")
    escalated = sum(v for k, v in decisions.items() if k.startswith("escalate:"))
    return {
        "devices": len(seen),
        "decided": len(clips),
        "decisions": dict(sorted(decisions.items())),
        "escalated": escalated,
        "withheld": sum(withheld.values()),
        "withheld_reasons": dict(withheld),
        "queued": queued,
        "refused": refused,
        "confidence_mean": round(float(np.mean(confidences)), 3) if confidences else None,
        "policy": {
            k: v
            for k, v in OmegaConf.to_container(cfg.policy, resolve=True).items()
            if k not in ("_target_", "key_env")
        },
        "sample_key": "from $" + cfg.policy.key_env
        if os.environ.get(cfg.policy.key_env)
        else "escalate.key (a demo key: set $" + cfg.policy.key_env + " on a device)",
        "log": str(out / "escalations.jsonl"),
        "db": db,
        "data_dir": str(out / "review-data"),
        "review_command": review_command(db, out / "review-data", cfg.reviewer),
        "rows": rows,
        "files": [str(out / "escalations.jsonl")] + ([str(out / "review.db")] if queued else []),
    }
