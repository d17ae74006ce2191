"""Passwords, session tokens, CSRF tokens and login throttling.

* Passwords: Argon2id (``argon2-cffi``), salted per hash; a hash made with weaker
  parameters than the current ones is upgraded at the next login.
* Sessions: a random 256-bit token in an ``HttpOnly; SameSite=Strict`` cookie; the database
  holds only its sha256, so a leaked database does not log anyone in. There is no signing
  key to leak or to leave at a default value.
* CSRF: each session has its own random token, returned by ``/api/me`` and required in the
  ``X-CSRF-Token`` header of every state-changing request (compared in constant time).
  Before login, a double-submit token (``/api/csrf`` sets an ``HttpOnly`` cookie and returns
  the same value) protects the login form from login CSRF.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

SESSION_COOKIE = "sv_session"
PRELOGIN_COOKIE = "sv_csrf"
CSRF_HEADER = "x-csrf-token"

_hasher = PasswordHasher()
# Verified against when the user does not exist, so a login takes as long either way.
_DUMMY = _hasher.hash(secrets.token_hex(16))
MIN_PASSWORD = 10


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` with a fresh salt.

    Raises:
        ValueError: a password shorter than ``MIN_PASSWORD`` characters.
    """
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches ``stored``, and a rehash when the parameters are old.

    Returns:
        ``(ok, new_hash)``; ``new_hash`` is None unless the stored hash should be replaced.
    """
    try:
        _hasher.verify(stored or _DUMMY, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if stored is None:
        return False, None
    return True, (_hasher.hash(password) if _hasher.check_needs_rehash(stored) else None)


def new_token() -> str:
    """A random URL-safe token of 256 bits."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The sha256 of a token, as stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (False if either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


class LoginThrottle:
    """At most ``limit`` failed logins per username (and per client) in ``window_s``.

    Kept in memory per worker: a brake on guessing, not a ledger (the audit log is that).
    """

    def __init__(self, limit: int = 5, window_s: float = 900.0):
        self.limit, self.window_s = limit, window_s
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and q[0] < now - self.window_s:
            q.popleft()
        return q

    def blocked(self, *keys: str) -> bool:
        """Whether any of ``keys`` has reached the limit."""
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def fail(self, *keys: str) -> None:
        """Record a failed login for each key."""
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)
            if len(self._fails) > 100_000:  # a flood of names: forget the oldest half
                for k in list(self._fails)[: len(self._fails) // 2]:
                    del self._fails[k]

    def clear(self, *keys: str) -> None:
        """Forget the failures of ``keys`` (after a successful login)."""
        with self._lock:
            for k in keys:
                self._fails.pop(k, None)
