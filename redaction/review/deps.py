"""Request plumbing shared by the routes: who is asking, CSRF, and bounded JSON bodies.

Order of checks on a state-changing request: session (401), role (403), CSRF token and
Origin (403), then the body (413 too large, 415 not JSON, 400 malformed JSON, 422 invalid).
Nothing is parsed before the caller is known, so an anonymous client cannot make the
service parse a large body.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import urlsplit

from fastapi import Request
from pydantic import BaseModel, ValidationError

from redaction.review.audit import Actor
from redaction.review.errors import Forbidden, Invalid, ReviewError, TooLarge, Unauthorized
from redaction.review.security import CSRF_HEADER, SESSION_COOKIE, same

M = TypeVar("M", bound=BaseModel)


class Malformed(ReviewError):
    """The body is not valid JSON."""

    status = 400


class NotJson(ReviewError):
    """The body is not ``application/json``."""

    status = 415


def current(request: Request) -> Actor:
    """The signed-in actor (401 otherwise); remembered on ``request.state`` for the audit."""
    found = request.app.state.accounts.session(request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise Unauthorized("sign in first", action="auth_required")
    request.state.actor, request.state.csrf = found
    return found[0]


def _check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            raise Forbidden("cross-origin request refused", action="csrf_refused", detail=origin)
    elif origin == "null":
        raise Forbidden("cross-origin request refused", action="csrf_refused", detail="null")


def writer(request: Request) -> Actor:
    """The signed-in actor of a state-changing request: session, then CSRF token and Origin."""
    actor = current(request)
    if not same(request.headers.get(CSRF_HEADER), request.state.csrf):
        raise Forbidden(
            "missing or wrong CSRF token (send /api/me's csrf as X-CSRF-Token)",
            action="csrf_refused",
        )
    _check_origin(request)
    return actor


def admin_reader(request: Request) -> Actor:
    """A signed-in admin (403 for a reviewer)."""
    actor = current(request)
    if not actor.is_admin:
        raise Forbidden("admins only", action="admin_required")
    return actor


def admin_writer(request: Request) -> Actor:
    """A signed-in admin making a state-changing request (with its CSRF token)."""
    actor = writer(request)
    if not actor.is_admin:
        raise Forbidden("admins only", action="admin_required")
    return actor


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_json(request: Request, limit: int | None = None) -> Any:
    """The request's JSON body, read up to ``limit`` bytes (the settings' body limit).

    Raises:
        TooLarge (413), NotJson (415), Malformed (400).
    """
    limit = limit or request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge(f"the body is larger than {limit} bytes", action="body_too_large")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise NotJson("send the body as application/json", action="body_not_json")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body is larger than {limit} bytes", action="body_too_large")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks), parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise Malformed("the body is not valid JSON", action="body_malformed") from None


async def read_model(request: Request, model: type[M], limit: int | None = None) -> M:
    """The JSON body checked against a pydantic model (422 with the first problem)."""
    data = await read_json(request, limit)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "body"
        raise Invalid(f"{where}: {first.get('msg', 'invalid')}", action="body_invalid") from None
