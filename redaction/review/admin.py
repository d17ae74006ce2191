"""What admins do: check submissions (accept, or reject with feedback), read the skill
estimates, and export accepted corrections as manifest lines for training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from redaction.review import audit
from redaction.review.audit import Actor, utcnow
from redaction.review.config import Settings
from redaction.review.db import Database
from redaction.review.errors import Conflict, Invalid, NotFound
from redaction.review.models import Clip, Reviewer, Submission
from redaction.review.privacy import estimate_count
from redaction.review.records import LABELS, SAMPLE_RATE, check_transcript


def pending(db: Database, *, limit: int = 100) -> list[dict[str, Any]]:
    """Submissions waiting for an admin, oldest first (text only: admins do not get audio)."""
    q = (
        select(Submission, Clip.masked_transcript, Reviewer.username)
        .join(Clip, Clip.id == Submission.clip_id)
        .join(Reviewer, Reviewer.id == Submission.reviewer_id)
        .where(Submission.status == "pending")
        .order_by(Submission.id)
        .limit(limit)
    )
    with db.reading() as s:
        return [
            {
                "submission": sub.id,
                "clip_id": sub.clip_id,
                "reviewer": username,
                "label": sub.label,
                "text": sub.text,
                "masked_transcript": masked,
                "submitted_at": sub.created_at.isoformat(timespec="seconds") + "Z",
            }
            for sub, masked, username in s.execute(q)
        ]


def decide(
    db: Database, admin: Actor, submission_id: int, *, accept: bool, feedback: str = ""
) -> dict[str, Any]:
    """Accept a submission, or reject it with feedback (its reviewer may then redo it).

    Raises:
        NotFound: no such submission; Conflict: already decided; Invalid: a rejection
        without feedback (people are told why their work was rejected).
    """
    feedback = " ".join(check_transcript(feedback or "", "feedback").split())
    if not accept and not feedback:
        raise Invalid("say why the work is rejected (feedback)", action="decide_invalid")
    with db.writing() as s:
        sub = s.get(Submission, submission_id, with_for_update=db.dialect == "postgresql")
        if sub is None:
            raise NotFound("no such submission", action="decide_denied")
        if sub.status != "pending":
            raise Conflict(f"already {sub.status}", action="decide_conflict")
        clip = s.get(Clip, sub.clip_id)
        sub.status = "accepted" if accept else "rejected"
        sub.feedback = feedback
        sub.decided_at = utcnow()
        clip.status = "accepted" if accept else "rejected"
        audit.add(s, admin, "accept" if accept else "reject", clip_id=sub.clip_id)
        return {"submission": sub.id, "status": sub.status}


MIN_PROFILES = 10  # fewer, and a total would say too much about each person


def skills(db: Database, settings: Settings) -> dict[str, Any]:
    """How many reviewers speak each language or accent, estimated from the perturbed
    profiles (nobody's true answers are known, only these unbiased totals), and only once
    there are ``MIN_PROFILES`` profiles."""
    with db.reading() as s:
        rows = s.execute(
            select(
                Reviewer.profile_languages, Reviewer.profile_accents, Reviewer.profile_epsilon
            ).where(Reviewer.profile_epsilon.is_not(None), Reviewer.role == "reviewer")
        ).all()
    out: dict[str, Any] = {"profiles": len(rows), "languages": {}, "accents": {}}
    if len(rows) < MIN_PROFILES:
        return out
    eps = min(r[2] for r in rows)  # mixed budgets: the most conservative debiasing
    for key, idx, vocab in (("languages", 0, settings.languages), ("accents", 1, settings.accents)):
        for item in vocab:
            reported = sum(item in r[idx].split(",") for r in rows)
            est = estimate_count(reported, len(rows), eps)
            out[key][item] = round(min(max(est, 0.0), len(rows)), 1)
    return out


def export(
    db: Database,
    settings: Settings,
    out: str | Path,
    *,
    labels: tuple[str, ...] = ("correct", "corrected"),
    actor: Actor = audit.SYSTEM,
) -> int:
    """Write accepted corrections as manifest lines (``speech.data.manifest``'s contract),
    with their audio copied beside the manifest (``audio/<id>.wav``), so that the export
    outlives the queue's retention.

    Each line: ``id``, ``audio`` (relative), ``text`` (the corrected masked transcript,
    placeholders kept), ``label``, ``duration``, ``sample_rate``; ``speaker`` is a
    per-clip pseudonym (each clip has its own pseudo-voice), ``device`` is empty (the queue
    knows none), ``split`` ``train``, ``kind`` ``request``.

    Returns:
        The number of lines written.

    Raises:
        ValueError: an unknown label.
    """
    bad = sorted(set(labels) - set(LABELS))
    if bad:
        raise ValueError(f"unknown labels {bad}; choose from {', '.join(LABELS)}")
    out = Path(out)
    audio_dir = out.parent / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    q = (
        select(Submission, Clip.audio_name, Clip.duration)
        .join(Clip, Clip.id == Submission.clip_id)
        .where(Submission.status == "accepted", Submission.label.in_(labels))
        .order_by(Submission.id)
    )
    n = 0
    tmp = out.with_name(f".{out.name}.tmp")
    with db.reading() as s, open(tmp, "w", encoding="utf-8") as f:
        for sub, audio_name, duration in s.execute(q):
            src = settings.audio_dir / audio_name
            if not src.is_file():
                continue
            shutil.copyfile(src, audio_dir / f"{sub.clip_id}.wav")
            line = {
                "id": sub.clip_id,
                "audio": f"audio/{sub.clip_id}.wav",
                "sample_rate": SAMPLE_RATE,
                "duration": duration,
                "text": sub.text,
                "label": sub.label,
                "speaker": f"pseudo-{sub.clip_id}",
                "device": "",
                "split": "train",
                "kind": "request",
                "source": "review",
            }
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            n += 1
    tmp.replace(out)
    audit.log(db, actor, "export", detail=f"{n} lines to {out.name}")
    return n


def counts(db: Database) -> dict[str, int]:
    """Clips per status (for the admin page and the CLI)."""
    with db.reading() as s:
        return dict(s.execute(select(Clip.status, func.count()).group_by(Clip.status)).all())


def rejected_for(db: Database, who: Actor) -> list[dict[str, Any]]:
    """``who``'s rejected submissions whose clips wait for their redo, with the feedback."""
    q = (
        select(Submission, Clip.masked_transcript, Clip.expires_at)
        .join(Clip, Clip.id == Submission.clip_id)
        .where(
            Submission.reviewer_id == who.id,
            Submission.status == "rejected",
            Clip.status == "rejected",
        )
        .order_by(Submission.id.desc())
    )
    out, seen = [], set()
    with db.reading() as s:
        for sub, masked, expires in s.execute(q):
            if sub.clip_id in seen:
                continue
            seen.add(sub.clip_id)
            last = s.scalar(
                select(func.max(Submission.id)).where(
                    Submission.clip_id == sub.clip_id, Submission.reviewer_id == who.id
                )
            )
            if last != sub.id:
                continue
            out.append(
                {
                    "clip_id": sub.clip_id,
                    "label": sub.label,
                    "text": sub.text,
                    "masked_transcript": masked,
                    "feedback": sub.feedback,
                    "expires_at": expires.isoformat(timespec="seconds") + "Z",
                }
            )
    return out
