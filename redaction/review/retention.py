"""Retention and transparency: clips are deleted after their TTL; devices may ask about theirs.

:func:`purge` deletes every clip whose deadline passed (the earlier of its own
``expires_at`` and ``ttl_days`` after it was enqueued): its audio file first, then its row
with its submissions, each deletion audited. It also forgets lapsed sessions, assignments
older than the linkage window that nothing refers to, transparency entries past
``transparency_days``, and audio files that belong to no clip (a crash between writing a
file and committing its row).

:func:`transparency` answers a device that shows its receipts: for each, whether its clip is
queued, was listened to, was reviewed and was deleted, with times rounded to the hour, and
never who reviewed it.
"""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from redaction.review import audit
from redaction.review.audit import Actor, utcnow
from redaction.review.config import Settings
from redaction.review.db import Database
from redaction.review.errors import Invalid
from redaction.review.models import Assignment, Clip, LoginSession, Submission, Transparency

MAX_RECEIPTS = 100


def purge(
    db: Database, settings: Settings, *, now=None, dry_run: bool = False, batch: int = 500
) -> dict[str, int]:
    """Delete what is past its retention. Returns counts of what was (or would be) deleted."""
    now = now or utcnow()
    counts = {"clips": 0, "audio_files": 0, "orphan_audio": 0, "sessions": 0}
    counts |= {"assignments": 0, "transparency": 0}
    while True:
        with db.writing() as s:
            due = s.execute(
                select(Clip.id, Clip.audio_name, Clip.receipt_sha256)
                .where(Clip.expires_at <= now)
                .order_by(Clip.expires_at)
                .limit(batch)
            ).all()
            if dry_run:
                counts["clips"] += len(due)
                break
            for clip_id, name, receipt in due:
                path = settings.audio_dir / name
                if path.is_file():
                    path.unlink()
                    counts["audio_files"] += 1
                s.execute(
                    update(Transparency)
                    .where(Transparency.receipt_sha256 == receipt)
                    .values(deleted_at=now.replace(minute=0, second=0, microsecond=0))
                )
                s.execute(
                    update(Assignment)
                    .where(Assignment.clip_id == clip_id, Assignment.state == "active")
                    .values(state="expired")
                )
                audit.add(s, audit.SYSTEM, "purge", clip_id=clip_id, detail="retention TTL")
            if due:
                ids = [d[0] for d in due]
                s.execute(delete(Submission).where(Submission.clip_id.in_(ids)))
                s.execute(delete(Clip).where(Clip.id.in_(ids)))
            counts["clips"] += len(due)
        if len(due) < batch:
            break
    if dry_run:
        return counts
    with db.writing() as s:
        counts["sessions"] = s.execute(
            delete(LoginSession).where(LoginSession.expires_at <= now)
        ).rowcount
        cutoff = now - timedelta(hours=settings.linkage_window_hours) - timedelta(days=1)
        counts["assignments"] = s.execute(
            delete(Assignment).where(
                Assignment.claimed_at < cutoff,
                Assignment.state != "active",
                Assignment.id.not_in(select(Submission.assignment_id)),
            )
        ).rowcount
        counts["transparency"] = s.execute(
            delete(Transparency).where(Transparency.forget_after <= now)
        ).rowcount
        known = set(s.scalars(select(Clip.audio_name)))
        if settings.audio_dir.is_dir():
            for path in settings.audio_dir.iterdir():
                if path.name in known or time.time() - path.stat().st_mtime < 600:
                    continue
                path.unlink(missing_ok=True)
                counts["orphan_audio"] += 1
        if any(counts.values()):
            detail = " ".join(f"{k}={v}" for k, v in counts.items())
            audit.add(s, audit.SYSTEM, "purge_run", detail=detail)
    return counts


def transparency(db: Database, receipts: Any, *, actor: Actor = audit.DEVICE) -> list[dict]:
    """What a device may learn about its clips from its receipts.

    Args:
        receipts: a list of receipt strings (at most ``MAX_RECEIPTS``), as the redact path
            returned them to the device.

    Returns:
        One entry per receipt, in order: ``known`` (False: never queued here, or forgotten),
        and when known ``queued_at``, ``listened``/``listened_at``, ``reviewed``/
        ``reviewed_at``, ``deleted``/``deleted_at`` (UTC, rounded to the hour).

    Raises:
        Invalid: not a list of at most ``MAX_RECEIPTS`` short strings.
    """
    if (
        not isinstance(receipts, list)
        or not 0 < len(receipts) <= MAX_RECEIPTS
        or not all(isinstance(r, str) and 0 < len(r) <= 200 for r in receipts)
    ):
        raise Invalid(
            f"receipts must be a list of 1-{MAX_RECEIPTS} receipt strings",
            action="transparency_invalid",
        )
    digests = [hashlib.sha256(r.encode()).hexdigest() for r in receipts]
    with db.writing() as s:
        rows = {
            t.receipt_sha256: t
            for t in s.scalars(
                select(Transparency).where(Transparency.receipt_sha256.in_(set(digests)))
            )
        }
        audit.add(s, actor, "transparency", detail=f"receipts={len(digests)} known={len(rows)}")

    def when(t) -> str | None:
        return t.isoformat(timespec="minutes") + "Z" if t else None

    out = []
    for d in digests:
        t = rows.get(d)
        if t is None:
            out.append({"known": False})
            continue
        out.append(
            {
                "known": True,
                "queued_at": when(t.enqueued_at),
                "listened": t.listened_at is not None,
                "listened_at": when(t.listened_at),
                "reviewed": t.reviewed_at is not None,
                "reviewed_at": when(t.reviewed_at),
                "deleted": t.deleted_at is not None,
                "deleted_at": when(t.deleted_at),
            }
        )
    return out
