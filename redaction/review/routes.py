"""The reviewer's API, sign-in, and the devices' transparency endpoint.

Every clip route takes the clip id from the path and checks it against the caller's own
active assignment: another reviewer's clip and an unknown one both answer 404 (so ids cannot
be probed), an expired one 410. Audio is looked up by the name the service gave the file,
never by anything in the request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from redaction.review import admin
from redaction.review.audit import Actor
from redaction.review.deps import current, read_json, read_model, writer
from redaction.review.errors import Forbidden
from redaction.review.ledger import ledger
from redaction.review.retention import transparency
from redaction.review.security import CSRF_HEADER, PRELOGIN_COOKIE, SESSION_COOKIE, new_token, same

router = APIRouter(prefix="/api")
Reader = Annotated[Actor, Depends(current)]
Writer = Annotated[Actor, Depends(writer)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


class LoginBody(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class ProfileBody(Strict):
    languages: list[Annotated[str, Field(max_length=8)]] = Field(max_length=32)
    accents: list[Annotated[str, Field(max_length=8)]] = Field(max_length=32)
    epsilon: float = Field(gt=0, le=20)
    perturbed: bool


class SubmitBody(Strict):
    label: str = Field(max_length=20)
    text: str | None = Field(default=None, max_length=4000)


def _cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.cookie_secure,
    )


@router.get("/csrf")
def prelogin_csrf(request: Request, response: Response) -> dict[str, str]:
    """A double-submit token for the login form (login CSRF)."""
    token = new_token()
    _cookie(request, response, PRELOGIN_COOKIE, token, 3600)
    return {"csrf": token}


@router.post("/login")
async def login(request: Request, response: Response) -> dict[str, Any]:
    """Sign in; sets the session cookie and returns the session's CSRF token."""
    if not same(request.headers.get(CSRF_HEADER), request.cookies.get(PRELOGIN_COOKIE)):
        raise Forbidden("missing or wrong CSRF token (GET /api/csrf first)", action="csrf_refused")
    body = await read_model(request, LoginBody)
    client = request.client.host if request.client else ""
    session = await run_in_threadpool(
        request.app.state.accounts.login, body.username, body.password, client=client
    )
    request.state.actor = session.actor
    hours = request.app.state.settings.session_hours
    _cookie(request, response, SESSION_COOKIE, session.token, int(hours * 3600))
    response.delete_cookie(PRELOGIN_COOKIE, path="/", httponly=True, samesite="strict")
    return {"username": session.actor.name, "role": session.actor.role, "csrf": session.csrf}


@router.post("/logout")
def logout(request: Request, response: Response, actor: Writer) -> dict[str, bool]:
    """End the session."""
    request.app.state.accounts.logout(request.cookies.get(SESSION_COOKIE, ""), actor)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return {"ok": True}


@router.get("/me")
def me(request: Request, actor: Reader) -> dict[str, Any]:
    """Who is signed in, their CSRF token, the task's purpose, profile and exposure today."""
    app, c = request.app.state, request.app.state.settings
    return {
        "username": actor.name,
        "role": actor.role,
        "csrf": request.state.csrf,
        "purpose": c.purpose,
        "profile": app.accounts.profile(actor),
        "rr_epsilon": c.rr_epsilon,
        "languages": list(c.languages),
        "accents": list(c.accents),
        "exposure": app.queue.exposure(actor),
    }


@router.post("/profile")
async def profile(request: Request, actor: Writer) -> dict[str, Any]:
    """Store the skill profile the browser perturbed (randomized response)."""
    body = await read_model(request, ProfileBody)
    if not body.perturbed:
        raise Forbidden("perturb the profile on your side first", action="profile_invalid")
    return await run_in_threadpool(
        request.app.state.accounts.set_profile, actor, body.languages, body.accents, body.epsilon
    )


@router.post("/claim")
def claim(request: Request, actor: Writer) -> dict[str, Any]:
    """The next clip for the caller (or the one they hold), or why there is none."""
    got = request.app.state.queue.claim(actor)
    return {"clip": got.clip, "reason": got.reason}


@router.get("/clips/{clip_id}")
def view(request: Request, clip_id: str, actor: Reader) -> dict[str, Any]:
    """The clip the caller holds."""
    return request.app.state.queue.view(actor, clip_id)


@router.post("/clips/{clip_id}/acknowledge")
def acknowledge(request: Request, clip_id: str, actor: Writer) -> dict[str, bool]:
    """The caller read the content warning."""
    request.app.state.queue.acknowledge(actor, clip_id)
    return {"ok": True}


@router.get("/clips/{clip_id}/audio")
def audio(request: Request, clip_id: str, actor: Reader) -> Response:
    """The held clip's redacted audio (read whole: clips are short, and a purge racing the
    response cannot leave it half-sent)."""
    path = request.app.state.queue.audio(actor, clip_id)
    data = path.read_bytes()
    return Response(
        data,
        media_type="audio/wav",
        headers={"Cache-Control": "no-store", "Content-Disposition": "inline"},
    )


@router.post("/clips/{clip_id}/submit")
async def submit(request: Request, clip_id: str, actor: Writer) -> dict[str, Any]:
    """Label the held clip; ``text`` is the corrected masked transcript for ``corrected``."""
    body = await read_model(request, SubmitBody)
    return await run_in_threadpool(
        request.app.state.queue.submit, actor, clip_id, body.label, body.text
    )


@router.post("/clips/{clip_id}/skip")
def skip(request: Request, clip_id: str, actor: Writer) -> dict[str, bool]:
    """Give the held clip back: always allowed, never counted against anyone."""
    request.app.state.queue.skip(actor, clip_id)
    return {"ok": True}


@router.post("/clips/{clip_id}/redo")
def redo(request: Request, clip_id: str, actor: Writer) -> dict[str, Any]:
    """Take back a clip whose submission was rejected, to do it again."""
    return {"clip": request.app.state.queue.redo(actor, clip_id)}


@router.get("/feedback")
def feedback(request: Request, actor: Reader) -> dict[str, Any]:
    """The caller's rejected work, with the admins' feedback, that they may redo."""
    return {"rejected": admin.rejected_for(request.app.state.db, actor)}


@router.get("/ledger")
def my_ledger(request: Request, actor: Reader) -> dict[str, Any]:
    """The caller's fair-work ledger."""
    return ledger(request.app.state.db, request.app.state.settings, actor.id)


@router.post("/transparency")
async def device_transparency(request: Request) -> dict[str, Any]:
    """For a device: with its receipts, whether and when its clips were reviewed (never by
    whom). No session needed: a receipt is the device's secret."""
    body = await read_json(request)
    receipts = body.get("receipts") if isinstance(body, dict) and len(body) == 1 else None
    answer = await run_in_threadpool(transparency, request.app.state.db, receipts)
    return {"clips": answer}
