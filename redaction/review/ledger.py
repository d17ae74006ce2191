"""The fair-work ledger: time worked, clips submitted, pay, and the top-up to the floor.

Only daily totals per reviewer are stored (``worklog``), never a duration per clip: enough
to pay people fairly, not enough to time them clip by clip. Time on a skipped clip counts
as work (skipping is never penalised), at most ``max_counted_seconds`` per clip. A clip
pays ``pay_per_clip_cents`` when submitted (a redo adds time, not a second payment); when
the effective hourly pay falls below ``pay_floor_cents_per_hour``, the ledger shows the
top-up owed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from redaction.review.config import Settings
from redaction.review.db import Database
from redaction.review.models import Reviewer, WorkLog


def add_work(
    s: Session, reviewer_id: int, now: datetime, seconds: float, *, clips: int, settings: Settings
) -> None:
    """Add ``seconds`` of work and ``clips`` submitted clips to today's totals (an upsert)."""
    seconds = max(0.0, float(seconds))
    earned = clips * settings.pay_per_clip_cents
    values = {
        "reviewer_id": reviewer_id,
        "day": now.date().isoformat(),
        "seconds": seconds,
        "clips": clips,
        "earned_cents": earned,
    }
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(WorkLog).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["reviewer_id", "day"],
        set_={
            "seconds": WorkLog.seconds + seconds,
            "clips": WorkLog.clips + clips,
            "earned_cents": WorkLog.earned_cents + earned,
        },
    )
    s.execute(stmt)


def summarize(seconds: float, clips: int, earned: int, settings: Settings) -> dict[str, Any]:
    """Hours, pay, effective hourly pay and the top-up owed for some totals (cents)."""
    hours = seconds / 3600.0
    floor_owed = settings.pay_floor_cents_per_hour * hours
    top_up = max(0, round(floor_owed - earned))
    return {
        "seconds": round(seconds, 1),
        "hours": round(hours, 4),
        "clips": clips,
        "average_seconds_per_clip": round(seconds / clips, 1) if clips else None,
        "earned_cents": earned,
        "effective_cents_per_hour": round(earned / hours) if hours > 0 else None,
        "floor_cents_per_hour": settings.pay_floor_cents_per_hour,
        "top_up_cents": top_up,
        "paid_cents": earned + top_up,
        "currency": settings.currency,
    }


def ledger(db: Database, settings: Settings, reviewer_id: int | None = None) -> dict[str, Any]:
    """The ledger per reviewer and day (one reviewer, or everyone for an admin).

    Returns:
        ``{"reviewers": [{"username", "days": [{"day", ...summary}], "total": summary}]}``.
    """
    q = (
        select(Reviewer.id, Reviewer.username, WorkLog)
        .join(WorkLog, WorkLog.reviewer_id == Reviewer.id)
        .order_by(Reviewer.username, WorkLog.day)
    )
    if reviewer_id is not None:
        q = q.where(Reviewer.id == reviewer_id)
    people: dict[int, dict[str, Any]] = {}
    with db.reading() as s:
        for rid, username, w in s.execute(q):
            p = people.setdefault(rid, {"username": username, "days": [], "_t": [0.0, 0, 0]})
            p["days"].append(
                {"day": w.day, **summarize(w.seconds, w.clips, w.earned_cents, settings)}
            )
            p["_t"][0] += w.seconds
            p["_t"][1] += w.clips
            p["_t"][2] += w.earned_cents
    out = []
    for p in people.values():
        seconds, clips, earned = p.pop("_t")
        out.append({**p, "total": summarize(seconds, clips, earned, settings)})
    return {"reviewers": out}
