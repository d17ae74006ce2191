"""The append-only audit log: who, which clip, when, what action, and the outcome.

Entries are written in the same transaction as the action they record (a claim and its
entry commit together or not at all); refusals get their own transaction. The database
refuses UPDATE, DELETE and TRUNCATE on the table (triggers, see the first migration).
Details are short and never hold transcript text, audio, receipts or linkage tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from redaction.review.db import Database
from redaction.review.models import AuditEntry

_UNSAFE = re.compile(r"[^\x20-\x7e]")


def utcnow() -> datetime:
    """The current time as naive UTC (how every time is stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


def hour(t: datetime) -> datetime:
    """``t`` rounded down to the hour (what a device may learn)."""
    return t.replace(minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in person, or ``system``, ``device``, ``pipeline``, ``anonymous``."""

    id: int | None
    name: str
    role: str = ""

    @property
    def is_admin(self) -> bool:
        """Whether the actor is an admin."""
        return self.role == "admin"


SYSTEM = Actor(None, "system")
ANONYMOUS = Actor(None, "anonymous")
DEVICE = Actor(None, "device")
PIPELINE = Actor(None, "pipeline")


def clean(text: str, limit: int = 300) -> str:
    """``text`` made safe for a log line: printable ASCII only, at most ``limit`` chars."""
    return _UNSAFE.sub("?", str(text))[:limit]


def add(
    s: Session,
    actor: Actor,
    action: str,
    *,
    clip_id: str | None = None,
    status: int = 200,
    detail: str = "",
    at: datetime | None = None,
) -> None:
    """Append an entry inside the caller's transaction."""
    s.add(
        AuditEntry(
            at=at or utcnow(),
            actor_id=actor.id,
            actor=clean(actor.name, 64),
            action=action,
            clip_id=clean(clip_id, 64) if clip_id else None,
            status=status,
            detail=clean(detail),
        )
    )


def log(db: Database, actor: Actor, action: str, **kw) -> None:
    """Append an entry in a transaction of its own (for refusals)."""
    with db.writing() as s:
        add(s, actor, action, **kw)


def entries(db: Database, *, clip_id: str | None = None, action: str | None = None) -> list[dict]:
    """Audit entries, oldest first, optionally for one clip or one action."""
    q = select(AuditEntry).order_by(AuditEntry.id)
    if clip_id is not None:
        q = q.where(AuditEntry.clip_id == clip_id)
    if action is not None:
        q = q.where(AuditEntry.action == action)
    with db.reading() as s:
        return [
            {
                "id": e.id,
                "at": e.at.isoformat(timespec="seconds") + "Z",
                "actor": e.actor,
                "actor_id": e.actor_id,
                "action": e.action,
                "clip_id": e.clip_id,
                "status": e.status,
                "detail": e.detail,
            }
            for e in s.scalars(q)
        ]
