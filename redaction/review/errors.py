"""Errors the service turns into HTTP statuses (and the CLIs into one-line messages)."""

from __future__ import annotations


class ReviewError(Exception):
    """A refusal with its HTTP status and the audit action that records it.

    Attributes:
        status: the HTTP status (400-499).
        action: the audit log's name for the refusal.
        message: what was wrong, and what to do, for the caller.
        detail: extra context for the audit log only (never sent to the caller).
        audited: the refusal is already in the audit log (the web layer adds no entry).
    """

    status = 400

    def __init__(
        self, message: str, *, action: str = "refused", detail: str = "", audited: bool = False
    ):
        super().__init__(message)
        self.message, self.action, self.detail = message, action, detail
        self.audited = audited


class NotFound(ReviewError):
    """Unknown, or not yours (the two are not told apart, so ids cannot be probed)."""

    status = 404


class Gone(ReviewError):
    """The clip expired."""

    status = 410


class Conflict(ReviewError):
    """The request no longer fits the state (a lapsed lease, a duplicate id)."""

    status = 409


class Invalid(ReviewError):
    """The request is well-formed but its content is refused."""

    status = 422


class Forbidden(ReviewError):
    """Signed in, but not allowed."""

    status = 403


class Unauthorized(ReviewError):
    """Not signed in."""

    status = 401


class TooLarge(ReviewError):
    """The body exceeds the limit."""

    status = 413


class TooMany(ReviewError):
    """Too many attempts; wait."""

    status = 429
