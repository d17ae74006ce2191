"""Reviewer and admin accounts, logins, sessions and the (perturbed) skill profile."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from redaction.review import audit
from redaction.review.audit import Actor, utcnow
from redaction.review.config import Settings
from redaction.review.db import Database
from redaction.review.errors import Conflict, Invalid, TooMany, Unauthorized
from redaction.review.models import LoginSession, Reviewer
from redaction.review.security import (
    LoginThrottle,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}\Z")
ROLES = ("reviewer", "admin")


@dataclass(frozen=True)
class Login:
    """A new session: the cookie's token (only its hash is stored) and its CSRF token."""

    token: str
    csrf: str
    actor: Actor


def add_reviewer(db: Database, username: str, password: str, *, role: str = "reviewer") -> int:
    """Create an account; returns its id.

    Raises:
        ValueError: a bad username, role or a short password.
        Conflict: the username is taken.
    """
    if not USERNAME.match(username):
        raise ValueError(f"username {username!r}: 2-64 of a-z, 0-9, '.', '_', '-'")
    if role not in ROLES:
        raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")
    digest = hash_password(password)
    try:
        with db.writing() as s:
            r = Reviewer(
                username=username,
                password_hash=digest,
                role=role,
                active=True,
                created_at=utcnow(),
                profile_languages="",
                profile_accents="",
            )
            s.add(r)
            s.flush()
            audit.add(s, audit.SYSTEM, "add_reviewer", detail=f"{username} ({role})")
            return r.id
    except IntegrityError:
        raise Conflict(f"username {username!r} is taken") from None


class Accounts:
    """Logins and sessions over one database."""

    def __init__(self, db: Database, settings: Settings):
        self.db, self.settings = db, settings
        # 5 failures per username, 50 per client address (many people may share one).
        self.per_user, self.per_client = LoginThrottle(5), LoginThrottle(50)
        self._cache: dict[str, tuple[Actor, str, datetime, float]] = {}

    def login(self, username: str, password: str, *, client: str = "") -> Login:
        """Check a password and open a session.

        Raises:
            TooMany: too many recent failures for this username or client.
            Unauthorized: a wrong username or password (not told apart).
        """
        if self.per_user.blocked(username) or self.per_client.blocked(client):
            audit.log(
                self.db, Actor(None, audit.clean(username, 64)), "login_throttled", status=429
            )
            raise TooMany(
                "too many failed logins; wait 15 minutes", action="login_throttled", audited=True
            )
        r = None
        if USERNAME.match(username):  # an impossible name never reaches the database
            with self.db.reading() as s:
                r = s.scalar(select(Reviewer).where(Reviewer.username == username))
        stored = r.password_hash if r is not None and r.active else None
        ok, rehash = verify_password(stored, password)
        if not ok or r is None:
            self.per_user.fail(username)
            self.per_client.fail(client)
            audit.log(self.db, Actor(None, audit.clean(username, 64)), "login_failed", status=401)
            raise Unauthorized("wrong username or password", action="login_failed", audited=True)
        self.per_user.clear(username)
        token, csrf, now = new_token(), new_token(), utcnow()
        with self.db.writing() as s:
            if rehash:
                s.get(Reviewer, r.id).password_hash = rehash
            s.add(
                LoginSession(
                    token_sha256=token_digest(token),
                    reviewer_id=r.id,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + timedelta(hours=self.settings.session_hours),
                )
            )
            actor = Actor(r.id, r.username, r.role)
            audit.add(s, actor, "login")
        return Login(token, csrf, actor)

    CACHE_S = 2.0  # how stale another worker's logout may be (this worker's: never)

    def session(self, token: str | None) -> tuple[Actor, str] | None:
        """The actor and CSRF token of a live session, or None.

        Lookups are cached for ``CACHE_S`` seconds per process (a logout clears this
        process's entry at once), which saves a database read on most requests.
        """
        if not token or len(token) > 100:
            return None
        digest, now = token_digest(token), time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and now - hit[3] < self.CACHE_S and hit[2] > utcnow():
            return hit[0], hit[1]
        found = self._lookup(digest)
        if found is not None:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (*found, now)
            return found[0], found[1]
        self._cache.pop(digest, None)
        return None

    def _lookup(self, digest: str) -> tuple[Actor, str, datetime] | None:
        with self.db.reading() as s:
            row = s.execute(
                select(
                    Reviewer.id,
                    Reviewer.username,
                    Reviewer.role,
                    LoginSession.csrf,
                    LoginSession.expires_at,
                )
                .join(LoginSession, LoginSession.reviewer_id == Reviewer.id)
                .where(
                    LoginSession.token_sha256 == digest,
                    LoginSession.expires_at > utcnow(),
                    Reviewer.active.is_(True),
                )
            ).first()
        if row is None:
            return None
        return Actor(row.id, row.username, row.role), row.csrf, row.expires_at

    def logout(self, token: str, actor: Actor) -> None:
        """End a session."""
        self._cache.pop(token_digest(token), None)
        with self.db.writing() as s:
            s.execute(delete(LoginSession).where(LoginSession.token_sha256 == token_digest(token)))
            audit.add(s, actor, "logout")

    def profile(self, actor: Actor) -> dict:
        """The stored (perturbed) profile of ``actor``."""
        with self.db.reading() as s:
            r = s.get(Reviewer, actor.id)
            return {
                "languages": [x for x in r.profile_languages.split(",") if x],
                "accents": [x for x in r.profile_accents.split(",") if x],
                "epsilon": r.profile_epsilon,
            }

    def set_profile(
        self, actor: Actor, languages: list[str], accents: list[str], epsilon: float
    ) -> dict:
        """Store a profile the reviewer's browser already perturbed.

        The service cannot tell a perturbed profile from a true one; it refuses a profile
        that does not say which budget perturbed it, or whose budget exceeds the configured
        one (a client that would reveal more than the policy allows).

        Raises:
            Invalid: unknown languages or accents, or a missing or too large epsilon.
        """
        c = self.settings
        bad = sorted(set(languages) - set(c.languages)) + sorted(set(accents) - set(c.accents))
        if bad:
            raise Invalid(f"unknown languages or accents: {bad}", action="profile_invalid")
        if not 0 < epsilon <= c.rr_epsilon + 1e-9:
            raise Invalid(
                f"epsilon={epsilon}: perturb with epsilon in (0, {c.rr_epsilon}]",
                action="profile_invalid",
            )
        with self.db.writing() as s:
            r = s.get(Reviewer, actor.id)
            r.profile_languages = ",".join(x for x in c.languages if x in set(languages))
            r.profile_accents = ",".join(x for x in c.accents if x in set(accents))
            r.profile_epsilon = epsilon
            audit.add(s, actor, "profile", detail=f"epsilon={epsilon:g}")
        return self.profile(actor)
