"""Admin API: check submissions, the fair-work ledger, skill estimates, the audit log, and
the upload endpoint the redaction pipeline may use (admin session + CSRF, or the ingest
bearer token)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from redaction.review import admin, audit
from redaction.review.audit import Actor
from redaction.review.deps import admin_reader, admin_writer, read_model
from redaction.review.errors import Invalid, Unauthorized
from redaction.review.ledger import ledger
from redaction.review.records import CLIP_ID
from redaction.review.security import same

router = APIRouter(prefix="/api/admin")
AdminReader = Annotated[Actor, Depends(admin_reader)]
AdminWriter = Annotated[Actor, Depends(admin_writer)]


class DecideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: bool
    feedback: str = Field(default="", max_length=2000)


class UploadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record: dict[str, Any]
    audio_b64: str
    language: str = Field(default="en", max_length=8)
    accent: str = Field(default="", max_length=8)


@router.get("/submissions")
def submissions(request: Request, actor: AdminReader) -> dict[str, Any]:
    """Submissions waiting for a decision."""
    return {"pending": admin.pending(request.app.state.db)}


@router.post("/submissions/{submission_id}/decide")
async def decide(request: Request, submission_id: int, actor: AdminWriter) -> dict[str, Any]:
    """Accept, or reject with feedback (the reviewer may redo it)."""
    body = await read_model(request, DecideBody)
    return await run_in_threadpool(
        admin.decide,
        request.app.state.db,
        actor,
        submission_id,
        accept=body.accept,
        feedback=body.feedback,
    )


@router.get("/ledger")
def all_ledgers(request: Request, actor: AdminReader) -> dict[str, Any]:
    """Everyone's fair-work ledger (daily totals only)."""
    return ledger(request.app.state.db, request.app.state.settings)


@router.get("/skills")
def skills(request: Request, actor: AdminReader) -> dict[str, Any]:
    """Estimated reviewers per language and accent, from the perturbed profiles."""
    return admin.skills(request.app.state.db, request.app.state.settings)


@router.get("/counts")
def counts(request: Request, actor: AdminReader) -> dict[str, int]:
    """Clips per status."""
    return admin.counts(request.app.state.db)


@router.get("/audit")
def audit_log(request: Request, actor: AdminReader, clip_id: str | None = None) -> dict:
    """The audit log (all, or one clip's), newest last."""
    if clip_id is not None and not CLIP_ID.match(clip_id):
        return {"entries": []}
    entries = audit.entries(request.app.state.db, clip_id=clip_id)
    return {"entries": entries[-1000:]}


def _uploader(request: Request) -> Actor:
    """The pipeline with the ingest token, or an admin with session and CSRF token."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        want = request.app.state.settings.ingest_token_sha256
        got = hashlib.sha256(auth[7:].strip().encode()).hexdigest()
        if not same(want, got):
            raise Unauthorized("wrong ingest token", action="ingest_refused")
        request.state.actor = audit.PIPELINE
        return audit.PIPELINE
    return admin_writer(request)


@router.post("/clips")
async def upload(request: Request, actor: Annotated[Actor, Depends(_uploader)]) -> dict:
    """Enqueue one redacted clip: ``{"record": {...}, "audio_b64": "..."}`` (422 for
    anything that is not a redacted clip, 409 for a duplicate)."""
    c = request.app.state.settings
    body = await read_model(request, UploadBody, limit=c.max_upload_bytes)
    try:
        audio = base64.b64decode(body.audio_b64, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("audio_b64 is not base64", action="enqueue_refused") from None
    clip_id = await run_in_threadpool(
        request.app.state.queue.enqueue,
        body.record,
        audio,
        actor=actor,
        language=body.language,
        accent=body.accent,
    )
    return {"id": clip_id}
