"""Intake: a redacted-clip record and its WAV in, a queued clip out (or a refusal).

The record and the audio are checked (``records.py``) before anything is stored; the audio
is written under a random name the service makes (fsynced, then renamed into place), then
the clip's row, its transparency entry and the audit entry commit together. A crash between
the two leaves an orphan file, which the purge removes.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from redaction.review import audit
from redaction.review.audit import Actor, hour, utcnow
from redaction.review.config import Settings
from redaction.review.db import Database
from redaction.review.errors import Conflict, Invalid
from redaction.review.models import Clip, Transparency
from redaction.review.records import CLIP_ID, RecordError, check_record, check_wav


def enqueue(
    db: Database,
    settings: Settings,
    record: Any,
    audio: bytes,
    *,
    actor: Actor = audit.PIPELINE,
    language: str = "en",
    accent: str = "",
) -> str:
    """Check a redacted-clip record and its WAV bytes, store both, return the clip id.

    Raises:
        Invalid: not a redacted clip (the record or the audio); audited.
        Conflict: a clip with this id or receipt is already queued; audited.
    """
    c, now = settings, utcnow()
    try:
        rec = check_record(record, now=now, max_duration_s=c.max_duration_s)
        check_wav(audio, duration=rec.duration)
        if language not in c.languages or (accent and accent not in c.accents):
            raise RecordError(f"language {language!r} / accent {accent!r} not configured")
    except RecordError as e:
        cid = record.get("id") if isinstance(record, dict) else None
        cid = cid if isinstance(cid, str) and CLIP_ID.match(cid) else None
        audit.log(db, actor, "enqueue_refused", clip_id=cid, status=422, detail=str(e))
        raise Invalid(str(e), action="enqueue_refused", audited=True) from None
    c.audio_dir.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16) + ".wav"
    tmp = c.audio_dir / f".{name}.tmp"
    with open(tmp, "wb") as f:
        f.write(audio)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(c.audio_dir / name)
    expires = min(rec.expires_at, now + timedelta(days=c.ttl_days))
    try:
        with db.writing() as s:
            s.add(
                Clip(
                    id=rec.id,
                    masked_transcript=rec.masked_transcript,
                    spans=json.dumps(rec.spans),
                    content_warning=rec.content_warning,
                    categories=json.dumps(rec.categories),
                    expires_at=expires,
                    duration=rec.duration,
                    linkage=rec.linkage,
                    receipt_sha256=rec.receipt_sha256,
                    audio_name=name,
                    language=language,
                    accent=accent,
                    status="queued",
                    enqueued_at=now,
                )
            )
            s.add(
                Transparency(
                    receipt_sha256=rec.receipt_sha256,
                    enqueued_at=hour(now),
                    forget_after=expires + timedelta(days=c.transparency_days),
                )
            )
            audit.add(s, actor, "enqueue", clip_id=rec.id, detail=f"expires {expires}")
    except IntegrityError:
        (c.audio_dir / name).unlink(missing_ok=True)
        audit.log(db, actor, "enqueue_refused", clip_id=rec.id, status=409)
        raise Conflict(
            f"clip {rec.id} (or its receipt) is already in the queue", audited=True
        ) from None
    return rec.id
