"""The queue: enqueue, claim, submit, skip and redo, with the protections built in.

A claim is one write transaction that reads the reviewer's recent linkage tokens and today's
exposure, picks the oldest eligible clip, marks it assigned and writes the audit entry. On
SQLite the transaction starts with ``BEGIN IMMEDIATE`` (claims run one at a time); on
PostgreSQL the reviewer's row is locked (``FOR UPDATE``: one claim per reviewer at a time,
so the linkage guard and the caps cannot be raced) and the clip is taken with
``FOR UPDATE SKIP LOCKED`` (reviewers never wait for one another's clips). Two partial unique
indexes (one active assignment per clip, one per reviewer) make a double assignment
impossible even if this logic were wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from redaction.review import audit, intake
from redaction.review.audit import Actor, hour, utcnow
from redaction.review.config import Settings
from redaction.review.db import Database
from redaction.review.errors import Conflict, Gone, Invalid, NotFound
from redaction.review.ledger import add_work
from redaction.review.models import Assignment, Clip, Reviewer, Submission, Transparency
from redaction.review.records import (
    CLIP_ID,
    RecordError,
    check_correction,
)


@dataclass
class Claimed:
    """The outcome of a claim: a clip for the reviewer, or why there is none."""

    clip: dict[str, Any] | None
    reason: str = ""


def clip_view(clip: Clip, a: Assignment, feedback: str = "") -> dict[str, Any]:
    """What a reviewer sees of a clip: never its linkage token or receipt hash."""
    return {
        "id": clip.id,
        "masked_transcript": clip.masked_transcript,
        "spans": json.loads(clip.spans),
        "content_warning": clip.content_warning,
        "categories": json.loads(clip.categories),
        "duration": clip.duration,
        "language": clip.language,
        "expires_at": clip.expires_at.isoformat(timespec="seconds") + "Z",
        "audio_url": f"/api/clips/{clip.id}/audio",
        "warning_acknowledged": a.warning_ack,
        "redo": a.redo,
        "feedback": feedback,
    }


def _day_counts(reviewer_id, day: str):
    """(clips, flagged clips) a reviewer was assigned on ``day``, redos not counted."""
    return select(
        func.count(Assignment.id),
        func.coalesce(func.sum(case((Assignment.flagged, 1), else_=0)), 0),
    ).where(
        Assignment.reviewer_id == reviewer_id,
        Assignment.day == day,
        Assignment.redo.is_(False),
    )


class Queue:
    """The review queue over one database and one audio directory."""

    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        self._pg = db.dialect == "postgresql"
        self._last_sweep = datetime.min

    def enqueue(self, record: Any, audio: bytes, **kw: Any) -> str:
        """Check and store one redacted clip (see :func:`redaction.review.intake.enqueue`)."""
        return intake.enqueue(self.db, self.settings, record, audio, **kw)

    # --- claim ----------------------------------------------------------------------------

    def _lock_reviewer(self, s: Session, who: Actor) -> Reviewer:
        q = select(Reviewer).where(Reviewer.id == who.id)
        r = s.scalar(q.with_for_update() if self._pg else q)
        if r is None or not r.active:
            raise NotFound("no such reviewer", action="reviewer_unknown")
        return r

    def sweep_leases(self, s: Session, now: datetime, *, force: bool = False) -> int:
        """Return lapsed assignments' clips to the queue (a redo's to its reviewer)."""
        if not force and now - self._last_sweep < timedelta(seconds=15):
            return 0
        self._last_sweep = now
        cutoff = now - timedelta(minutes=self.settings.lease_minutes)
        lapsed = s.execute(
            update(Assignment)
            .where(Assignment.state == "active", Assignment.claimed_at < cutoff)
            .values(state="expired")
            .returning(Assignment.clip_id, Assignment.redo, Assignment.reviewer_id)
        ).all()
        for clip_id, redo, reviewer_id in lapsed:
            s.execute(
                update(Clip)
                .where(Clip.id == clip_id, Clip.status == "assigned")
                .values(status="rejected" if redo else "queued")
            )
            audit.add(s, audit.SYSTEM, "lease_expired", clip_id=clip_id, detail=f"r{reviewer_id}")
        return len(lapsed)

    def claim(self, who: Actor) -> Claimed:
        """Give ``who`` their next clip (or the one they already hold).

        The clip is the oldest queued, unexpired one whose linkage token ``who`` has not been
        given within the linkage window, in one of their (perturbed) languages if they set
        any, preferring their accents, and flagged only while under the flagged cap.
        """
        c = self.settings
        now = utcnow()
        day = now.date().isoformat()
        with self.db.writing() as s:
            r = self._lock_reviewer(s, who)
            self.sweep_leases(s, now)
            held = s.scalar(
                select(Assignment).where(
                    Assignment.reviewer_id == who.id, Assignment.state == "active"
                )
            )
            if held is not None:
                clip = s.get(Clip, held.clip_id)
                if clip is not None and clip.expires_at > now:
                    audit.add(s, who, "claim_held", clip_id=clip.id)
                    return Claimed(clip_view(clip, held, self._feedback(s, held)))
                held.state = "expired"
                if clip is not None:
                    clip.status = "queued"  # expired: never offered again, purged soon
                audit.add(s, audit.SYSTEM, "lease_expired", clip_id=held.clip_id, detail="expired")
            n, flagged = s.execute(_day_counts(who.id, day)).one()
            if n >= c.max_clips_per_day:
                audit.add(s, who, "claim_capped", status=204, detail=f"{n} clips today")
                return Claimed(None, f"You have reached today's limit of {n} clips. Thank you!")
            recent = select(Assignment.linkage).where(
                Assignment.reviewer_id == who.id,
                Assignment.claimed_at >= now - timedelta(hours=c.linkage_window_hours),
            )
            q = select(Clip).where(
                Clip.status == "queued", Clip.expires_at > now, Clip.linkage.not_in(recent)
            )
            if flagged >= c.max_flagged_per_day:
                q = q.where(Clip.content_warning.is_(False))
            languages = [x for x in r.profile_languages.split(",") if x]
            if languages:
                q = q.where(Clip.language.in_(languages))
            accents = [x for x in r.profile_accents.split(",") if x]
            order = [Clip.enqueued_at, Clip.id]
            if accents:
                order.insert(0, case((Clip.accent.in_(accents), 0), else_=1))
            q = q.order_by(*order).limit(1)
            if self._pg:
                q = q.with_for_update(skip_locked=True, of=Clip)
            clip = s.scalar(q)
            if clip is None:
                audit.add(s, who, "claim_empty", status=204)
                return Claimed(None, "No clip is waiting for you right now.")
            clip.status = "assigned"
            a = Assignment(
                clip_id=clip.id,
                reviewer_id=who.id,
                linkage=clip.linkage,
                flagged=clip.content_warning,
                day=day,
                claimed_at=now,
                state="active",
                redo=False,
                warning_ack=False,
            )
            s.add(a)
            audit.add(s, who, "claim", clip_id=clip.id)
            s.flush()
            return Claimed(clip_view(clip, a))

    # --- the held clip --------------------------------------------------------------------

    def _feedback(self, s: Session, a: Assignment) -> str:
        if not a.redo:
            return ""
        sub = s.scalar(
            select(Submission)
            .where(Submission.clip_id == a.clip_id, Submission.reviewer_id == a.reviewer_id)
            .order_by(Submission.id.desc())
            .limit(1)
        )
        return sub.feedback if sub else ""

    def _held(
        self, s: Session, who: Actor, clip_id: str, action: str, *, lock: bool = False
    ) -> tuple[Clip, Assignment]:
        """``who``'s active assignment of ``clip_id`` and the clip, or the right refusal."""
        if not CLIP_ID.match(clip_id):  # never let an impossible id reach the database
            raise NotFound("no such clip in your queue", action=f"{action}_denied", detail="bad id")
        q = select(Assignment).where(
            Assignment.reviewer_id == who.id,
            Assignment.clip_id == clip_id,
            Assignment.state == "active",
        )
        a = s.scalar(q.with_for_update() if lock and self._pg else q)
        clip = s.get(Clip, clip_id)
        if a is None or clip is None:
            why = "unknown clip" if clip is None else "not assigned to this reviewer"
            raise NotFound("no such clip in your queue", action=f"{action}_denied", detail=why)
        if clip.expires_at <= utcnow():
            raise Gone("this clip has expired and will be deleted", action=f"{action}_expired")
        return clip, a

    def view(self, who: Actor, clip_id: str) -> dict[str, Any]:
        """The clip ``who`` holds (audited)."""
        with self.db.writing() as s:
            clip, a = self._held(s, who, clip_id, "view")
            audit.add(s, who, "view", clip_id=clip_id)
            return clip_view(clip, a, self._feedback(s, a))

    def acknowledge(self, who: Actor, clip_id: str) -> None:
        """Record that ``who`` read the content warning (required before a flagged clip's
        audio is served)."""
        with self.db.writing() as s:
            _, a = self._held(s, who, clip_id, "acknowledge", lock=True)
            a.warning_ack = True
            audit.add(s, who, "acknowledge_warning", clip_id=clip_id)

    def audio(self, who: Actor, clip_id: str) -> Path:
        """The path of the audio of the clip ``who`` holds: built from the name the service
        gave the file, never from anything in the request.

        Raises:
            NotFound / Gone: as for :meth:`view`.
            Conflict: a flagged clip whose warning was not acknowledged yet.
        """
        with self.db.writing() as s:
            clip, a = self._held(s, who, clip_id, "audio")
            if clip.content_warning and not a.warning_ack:
                raise Conflict(
                    "read the content warning first (POST .../acknowledge)",
                    action="audio_before_warning",
                )
            path = self.settings.audio_dir / clip.audio_name
            if not path.is_file():
                raise Gone("this clip's audio has been deleted", action="audio_missing")
            s.execute(
                update(Transparency)
                .where(
                    Transparency.receipt_sha256 == clip.receipt_sha256,
                    Transparency.listened_at.is_(None),
                )
                .values(listened_at=hour(utcnow()))
            )
            audit.add(s, who, "audio", clip_id=clip_id)
            return path

    # --- submit, skip, redo ---------------------------------------------------------------

    def submit(self, who: Actor, clip_id: str, label: str, text: str | None) -> dict[str, Any]:
        """Store ``who``'s label and correction for the clip they hold.

        A repeat of an acknowledged submission (a client retrying after a lost response)
        returns the stored one instead of failing.

        Raises:
            NotFound / Gone: see :meth:`view`; Invalid: a bad label or a correction that
            changes the placeholders.
        """
        c = self.settings
        now = utcnow()
        with self.db.writing() as s:
            try:
                clip, a = self._held(s, who, clip_id, "submit", lock=True)
            except NotFound:
                done = self._already_submitted(s, who, clip_id, label, text)
                if done is None:
                    raise
                return done
            try:
                stored = check_correction(clip.masked_transcript, label, text)
            except RecordError as e:
                raise Invalid(str(e), action="submit_invalid") from None
            accepted = c.auto_accept
            sub = Submission(
                clip_id=clip_id,
                assignment_id=a.id,
                reviewer_id=who.id,
                label=label,
                text=stored,
                created_at=now,
                status="accepted" if accepted else "pending",
                feedback="",
                decided_at=now if accepted else None,
            )
            s.add(sub)
            a.state = "submitted"
            clip.status = "accepted" if accepted else "submitted"
            seconds = min((now - a.claimed_at).total_seconds(), c.max_counted_seconds)
            add_work(s, who.id, now, seconds, clips=0 if a.redo else 1, settings=c)
            s.execute(
                update(Transparency)
                .where(Transparency.receipt_sha256 == clip.receipt_sha256)
                .values(reviewed_at=hour(now))
            )
            audit.add(s, who, "submit", clip_id=clip_id, detail=f"label={label}")
            s.flush()
            return {"id": clip_id, "submission": sub.id, "label": label, "duplicate": False}

    def _already_submitted(
        self, s: Session, who: Actor, clip_id: str, label: str, text: str | None
    ) -> dict[str, Any] | None:
        sub = s.scalar(
            select(Submission)
            .where(Submission.clip_id == clip_id, Submission.reviewer_id == who.id)
            .order_by(Submission.id.desc())
            .limit(1)
        )
        if sub is None or sub.status == "rejected" or sub.label != label:
            return None
        clip = s.get(Clip, clip_id)
        if clip is None:
            return None
        try:
            same = check_correction(clip.masked_transcript, label, text) == sub.text
        except RecordError:
            same = False
        if not same:
            return None
        audit.add(s, who, "submit_repeat", clip_id=clip_id)
        return {"id": clip_id, "submission": sub.id, "label": label, "duplicate": True}

    def skip(self, who: Actor, clip_id: str) -> None:
        """Give the clip back, no reason asked, nothing held against ``who`` (the time spent
        is still counted as work)."""
        now = utcnow()
        with self.db.writing() as s:
            clip, a = self._held(s, who, clip_id, "skip", lock=True)
            a.state = "skipped"
            clip.status = "rejected" if a.redo else "queued"
            seconds = min((now - a.claimed_at).total_seconds(), self.settings.max_counted_seconds)
            add_work(s, who.id, now, seconds, clips=0, settings=self.settings)
            audit.add(s, who, "skip", clip_id=clip_id)

    def redo(self, who: Actor, clip_id: str) -> dict[str, Any]:
        """Take back a clip whose submission by ``who`` was rejected, to do it again.

        Raises:
            NotFound: no rejected submission of ``who`` for this clip awaits a redo.
            Conflict: ``who`` holds another clip (finish or skip it first).
        """
        now = utcnow()
        if not CLIP_ID.match(clip_id):
            raise NotFound("no rejected work of yours for this clip", action="redo_denied")
        with self.db.writing() as s:
            self._lock_reviewer(s, who)
            clip = s.get(Clip, clip_id)
            last = s.scalar(
                select(Submission)
                .where(Submission.clip_id == clip_id, Submission.reviewer_id == who.id)
                .order_by(Submission.id.desc())
                .limit(1)
            )
            if clip is None or last is None or last.status != "rejected":
                raise NotFound("no rejected work of yours for this clip", action="redo_denied")
            if clip.status != "rejected":
                raise NotFound("this clip is not waiting for a redo", action="redo_denied")
            if clip.expires_at <= now:
                raise Gone("this clip has expired", action="redo_expired")
            held = s.scalar(
                select(Assignment.id).where(
                    Assignment.reviewer_id == who.id, Assignment.state == "active"
                )
            )
            if held is not None:
                raise Conflict("finish or skip the clip you hold first", action="redo_busy")
            a = Assignment(
                clip_id=clip.id,
                reviewer_id=who.id,
                linkage=clip.linkage,
                flagged=clip.content_warning,
                day=now.date().isoformat(),
                claimed_at=now,
                state="active",
                redo=True,
                warning_ack=False,
            )
            s.add(a)
            clip.status = "assigned"
            audit.add(s, who, "redo", clip_id=clip_id)
            return clip_view(clip, a, last.feedback)

    def exposure(self, who: Actor) -> dict[str, int]:
        """What ``who`` was given today (UTC) against the caps."""
        day = utcnow().date().isoformat()
        with self.db.reading() as s:
            n, flagged = s.execute(_day_counts(who.id, day)).one()
        c = self.settings
        return {
            "clips_today": int(n),
            "max_clips_per_day": c.max_clips_per_day,
            "flagged_today": int(flagged),
            "max_flagged_per_day": c.max_flagged_per_day,
        }
