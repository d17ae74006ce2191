"""The review service's tables (SQLAlchemy 2 declarative; Alembic's migrations create them).

What is stored, and what is not:

* ``clips``: the redacted-clip record (masked transcript, spans' labels and times, warning,
  expiry, linkage token, receipt hash) and the name the service gave its audio file. No raw
  audio, raw transcript, device or speaker id ever reaches the service.
* ``assignments``: who was given which clip, on which UTC day, with the clip's linkage token
  (the linkage guard and the exposure caps read it). Two partial unique indexes make a double
  assignment impossible at the database level: one active assignment per clip, one per
  reviewer. Per-clip durations are not stored (only ``worklog``'s daily totals).
* ``worklog``: per reviewer and UTC day, the seconds worked, the clips submitted and the pay
  earned (the fair-work ledger, kept only in aggregate).
* ``transparency``: per receipt hash, hour-rounded times a device may ask about; it outlives
  the clip (it holds no clip id).
* ``audit_log``: append-only (triggers refuse UPDATE, DELETE and TRUNCATE).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BigId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER only


class Base(DeclarativeBase):
    """Declarative base of the review tables."""


class Reviewer(Base):
    """A person who reviews (role ``reviewer``) or checks reviews (role ``admin``)."""

    __tablename__ = "reviewers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # The skill profile as the reviewer's browser perturbed it (randomized response).
    profile_languages: Mapped[str] = mapped_column(String(200), default="")
    profile_accents: Mapped[str] = mapped_column(String(200), default="")
    profile_epsilon: Mapped[float | None] = mapped_column(Float, nullable=True)


class LoginSession(Base):
    """A login: only the sha256 of the cookie's token is stored."""

    __tablename__ = "sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Clip(Base):
    """A redacted clip waiting for, under, or after review."""

    __tablename__ = "clips"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    masked_transcript: Mapped[str] = mapped_column(Text)
    spans: Mapped[str] = mapped_column(Text)  # JSON: [{label, t_start, t_end}]
    content_warning: Mapped[bool] = mapped_column(Boolean)
    categories: Mapped[str] = mapped_column(Text)  # JSON list
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # the earlier deadline
    duration: Mapped[float] = mapped_column(Float)
    linkage: Mapped[str] = mapped_column(String(128), index=True)
    receipt_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    audio_name: Mapped[str] = mapped_column(String(64))  # made by the service, never by a user
    language: Mapped[str] = mapped_column(String(8), default="en")
    accent: Mapped[str] = mapped_column(String(8), default="")
    status: Mapped[str] = mapped_column(String(16))  # queued|assigned|submitted|rejected|accepted
    enqueued_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_clips_status_enqueued", "status", "enqueued_at"),)


ACTIVE = text("state = 'active'")


class Assignment(Base):
    """One clip given to one reviewer (``state``: active, submitted, skipped, expired)."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    clip_id: Mapped[str] = mapped_column(String(64), index=True)  # outlives the clip
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id", ondelete="CASCADE"))
    linkage: Mapped[str] = mapped_column(String(128))
    flagged: Mapped[bool] = mapped_column(Boolean)
    day: Mapped[str] = mapped_column(String(10))
    claimed_at: Mapped[datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(16))
    redo: Mapped[bool] = mapped_column(Boolean, default=False)
    warning_ack: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index(
            "uq_assignments_active_clip",
            "clip_id",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
        Index(
            "uq_assignments_active_reviewer",
            "reviewer_id",
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        ),
        Index("ix_assignments_reviewer_claimed", "reviewer_id", "claimed_at"),
        Index("ix_assignments_reviewer_linkage", "reviewer_id", "linkage"),
    )


class Submission(Base):
    """A reviewer's label and corrected masked transcript for one assignment."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("reviewers.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))  # pending|accepted|rejected
    feedback: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class WorkLog(Base):
    """The fair-work ledger: per reviewer and UTC day, totals only."""

    __tablename__ = "worklog"

    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("reviewers.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    clips: Mapped[int] = mapped_column(Integer, default=0)
    earned_cents: Mapped[int] = mapped_column(Integer, default=0)


class Transparency(Base):
    """What a device may learn with its receipt: whether and when, never by whom."""

    __tablename__ = "transparency"

    receipt_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime)  # rounded to the hour
    listened_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    forget_after: Mapped[datetime] = mapped_column(DateTime, index=True)


class AuditEntry(Base):
    """One access or refusal: who, which clip, when, what action (append-only)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    clip_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    status: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(String(300), default="")
