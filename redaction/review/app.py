"""The FastAPI application: pages, static files, the APIs, error handling and the purge loop.

Every refusal (401, 403, 404, 405, 409, 410, 413, 415, 422, 429) answers JSON
``{"error": ...}`` and goes to the audit log with the actor, the clip id from the path
when there is one, and the action. Responses carry a strict Content-Security-Policy (no
inline script or style, nothing from another origin), ``nosniff``, ``no-referrer`` and
``frame-ancestors 'none'``; API responses are ``no-store``.

    uvicorn --factory redaction.review.app:app_from_env      # what `serve` runs
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from redaction.review import audit, config, retention, routes, routes_admin
from redaction.review.accounts import Accounts
from redaction.review.db import Database, connect, migrate
from redaction.review.errors import ReviewError
from redaction.review.queue import Queue
from redaction.review.records import CLIP_ID
from redaction.review.security import SESSION_COOKIE

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("redaction.review")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _audit_refusal(request: Request, status: int, action: str, detail: str = "") -> None:
    app = request.app.state
    actor = getattr(request.state, "actor", None)
    if actor is None:
        found = app.accounts.session(request.cookies.get(SESSION_COOKIE))
        actor = found[0] if found else audit.ANONYMOUS
    clip_id = request.path_params.get("clip_id") if hasattr(request, "path_params") else None
    clip_id = clip_id if isinstance(clip_id, str) and CLIP_ID.match(clip_id) else None
    where = f"{request.method} {request.url.path}"
    audit.log(
        app.db, actor, action, clip_id=clip_id, status=status, detail=f"{where} {detail}".strip()
    )


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ReviewError)
    async def review_error(request: Request, e: ReviewError) -> JSONResponse:
        if not e.audited:
            await run_in_threadpool(_audit_refusal, request, e.status, e.action, e.detail)
        return JSONResponse({"error": e.message}, status_code=e.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException) -> Response:
        action = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        await run_in_threadpool(_audit_refusal, request, e.status_code, action)
        message = "not found" if e.status_code == 404 else str(e.detail)
        return JSONResponse({"error": message}, status_code=e.status_code, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        await run_in_threadpool(_audit_refusal, request, 422, "request_invalid")
        return JSONResponse({"error": "invalid request parameters"}, status_code=422)

    @app.exception_handler(Exception)
    async def crash(request: Request, e: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        with contextlib.suppress(Exception):
            await run_in_threadpool(_audit_refusal, request, 500, "server_error", type(e).__name__)
        return JSONResponse({"error": "internal error"}, status_code=500)


async def _purge_loop(app: FastAPI) -> None:
    s = app.state
    while True:
        try:
            counts = await run_in_threadpool(retention.purge, s.db, s.settings)
            if counts["clips"]:
                log.info("purge: %s", counts)
        except Exception:  # a failed purge must not stop the next one
            log.exception("purge failed")
        await asyncio.sleep(s.settings.purge_interval_s)


def create_app(
    settings: config.Settings,
    db: Database | None = None,
    *,
    run_migrations: bool = True,
    purge_loop: bool = True,
) -> FastAPI:
    """The review service over ``settings`` (``db`` defaults to ``settings.url``)."""
    db = db or connect(settings.url, synchronous=settings.sqlite_synchronous)
    if run_migrations:
        migrate(db)
    settings.audio_dir.mkdir(parents=True, exist_ok=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 64
        task = asyncio.create_task(_purge_loop(app)) if purge_loop else None
        yield
        if task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="sottovoce review",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings, app.state.db = settings, db
    app.state.queue = Queue(db, settings)
    app.state.accounts = Accounts(db, settings)
    _install_handlers(app)

    @app.middleware("http")
    async def headers(request: Request, call_next) -> Response:
        response = await call_next(request)
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        if request.url.path.startswith("/api/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    app.include_router(routes.router)
    app.include_router(routes_admin.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def page(name: str):
        def serve_page() -> FileResponse:
            return FileResponse(STATIC / name, media_type="text/html")

        return serve_page

    for path, name in (
        ("/login", "login.html"),
        ("/review", "review.html"),
        ("/admin", "admin.html"),
    ):
        app.add_api_route(path, page(name), methods=["GET"], include_in_schema=False)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/review")

    return app


def app_from_env() -> FastAPI:
    """The app with settings from ``SOTTOVOCE_REVIEW_*`` (uvicorn ``--factory``)."""
    return create_app(config.from_env())
