"""Settings of the review service: one typed dataclass, read from the environment at the edge.

Every protection that has a number (the linkage window, the exposure caps, the retention
TTL, the pay floor) is a field here, checked when the settings are built, so that a typo
fails at start-up rather than weakening a protection silently.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "SOTTOVOCE_REVIEW_"

PURPOSE = (
    "You are checking what our speech recognizer heard. Each correction you make becomes "
    "training data for the next version of the on-device recognizer, so it understands "
    "people better without their recordings ever leaving their devices. Personal details "
    "were removed before you hear anything: bleeped in the audio and shown as [LABELS] in "
    "the text. Keep the labels as they are. You may skip any clip, for any reason."
)
LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl", "pl")
ACCENTS = ("us", "gb", "in", "au", "ie", "za", "ng", "ca")


@dataclass(frozen=True)
class Settings:
    """Settings of the review service.

    Attributes:
        database_url: SQLAlchemy URL; ``None`` means SQLite at ``data_dir/review.db``.
            PostgreSQL: ``postgresql+psycopg://user@host:port/db``.
        data_dir: where the service keeps audio (``audio/``) and, by default, its database.
        linkage_window_hours: a reviewer never receives two clips with the same linkage
            token (one device) within this many hours.
        max_clips_per_day: clips one reviewer may be given per UTC day.
        max_flagged_per_day: of those, clips with a content warning.
        ttl_days: clips (audio included) are deleted this long after they were enqueued, or at
            their own ``expires_at`` if sooner.
        transparency_days: how long a device can still ask about a deleted clip (only the
            receipt's hash and hour-rounded times are kept).
        lease_minutes: an unfinished assignment returns to the queue after this long.
        session_hours: a login's lifetime.
        pay_per_clip_cents: what a submitted clip pays.
        pay_floor_cents_per_hour: the effective hourly pay the ledger guarantees (top-up).
        currency: shown beside the amounts.
        max_counted_seconds: time counted per clip at most (an abandoned tab is not work).
        max_body_bytes: request bodies larger than this are refused (413).
        max_upload_bytes: the limit for ``POST /api/admin/clips`` (base64 audio).
        max_duration_s: longer clips are refused.
        rr_epsilon: the local-DP budget of the reviewers' skill profiles (randomized
            response in the browser).
        auto_accept: accept submissions without an admin's check (export sees them at once).
        cookie_secure: mark cookies ``Secure`` (set behind TLS).
        ingest_token_sha256: sha256 of the bearer token the pipeline may enqueue with over
            HTTP (empty: only admins can upload).
        purge_interval_s: how often ``serve`` runs the retention purge.
        sqlite_synchronous: ``FULL`` (durable against power loss) or ``NORMAL`` (durable
            against a process crash only).
        purpose: what the task improves, shown to reviewers.
        languages: the languages a profile and a clip may name (ISO 639-1).
        accents: the accents a profile and a clip may name.
    """

    database_url: str | None = None
    data_dir: Path = Path("review-data")
    linkage_window_hours: float = 24.0 * 7
    max_clips_per_day: int = 300
    max_flagged_per_day: int = 20
    ttl_days: float = 7.0
    transparency_days: float = 90.0
    lease_minutes: float = 30.0
    session_hours: float = 12.0
    pay_per_clip_cents: int = 8
    pay_floor_cents_per_hour: int = 1500
    currency: str = "EUR"
    max_counted_seconds: float = 600.0
    max_body_bytes: int = 64 * 1024
    max_upload_bytes: int = 16 * 1024 * 1024
    max_duration_s: float = 60.0
    rr_epsilon: float = 2.0
    auto_accept: bool = False
    cookie_secure: bool = False
    ingest_token_sha256: str = ""
    purge_interval_s: float = 3600.0
    sqlite_synchronous: str = "FULL"
    purpose: str = PURPOSE
    languages: tuple[str, ...] = LANGUAGES
    accents: tuple[str, ...] = ACCENTS

    def __post_init__(self) -> None:
        positive = (
            "linkage_window_hours",
            "ttl_days",
            "transparency_days",
            "lease_minutes",
            "session_hours",
            "max_counted_seconds",
            "max_duration_s",
            "rr_epsilon",
            "purge_interval_s",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}={getattr(self, name)!r}: must be > 0")
        for name in ("max_clips_per_day", "max_flagged_per_day", "pay_per_clip_cents"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)!r}: must be >= 0")
        if self.max_body_bytes < 1024 or self.max_upload_bytes < self.max_body_bytes:
            raise ValueError("max_body_bytes must be >= 1024 and <= max_upload_bytes")
        if self.sqlite_synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"sqlite_synchronous={self.sqlite_synchronous!r}: FULL or NORMAL")
        object.__setattr__(self, "data_dir", Path(self.data_dir))

    @property
    def url(self) -> str:
        """The database URL, SQLite in ``data_dir`` by default."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'review.db').resolve()}"

    @property
    def audio_dir(self) -> Path:
        """Where the service stores clips' audio under names it made itself."""
        return self.data_dir / "audio"

    def with_ingest_token(self, token: str) -> Settings:
        """A copy that accepts ``Authorization: Bearer <token>`` on the upload endpoint."""
        return replace(self, ingest_token_sha256=hashlib.sha256(token.encode()).hexdigest())


def _parse(kind: type, raw: str) -> Any:
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{raw!r} is not a boolean (use true or false)")
    if kind is tuple:
        return tuple(x.strip() for x in raw.split(",") if x.strip())
    return kind(raw)


_KINDS = {"int": int, "float": float, "bool": bool, "str": str}


def from_env(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ``SOTTOVOCE_REVIEW_<FIELD>`` variables, then ``overrides``.

    ``SOTTOVOCE_REVIEW_INGEST_TOKEN`` (the token itself) is hashed into
    ``ingest_token_sha256``; the token is never stored.

    Raises:
        ValueError: an unknown ``SOTTOVOCE_REVIEW_*`` variable or a value of the wrong type.
    """
    env = os.environ if environ is None else environ
    kw: dict[str, Any] = {}
    known = {f.name: f for f in fields(Settings)}
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name == "ingest_token":
            kw["ingest_token_sha256"] = hashlib.sha256(raw.encode()).hexdigest() if raw else ""
            continue
        if name == "db":
            name = "database_url"
        if name == "data":
            name = "data_dir"
        if name not in known:
            raise ValueError(f"{key}: unknown setting; known: {', '.join(sorted(known))}")
        ann = str(known[name].type)
        if name == "data_dir":
            kw[name] = Path(raw)
        elif name == "database_url":
            kw[name] = raw or None
        elif ann.startswith("tuple"):
            kw[name] = _parse(tuple, raw)
        else:
            kind = _KINDS.get(ann, str)
            try:
                kw[name] = _parse(kind, raw)
            except ValueError as e:
                raise ValueError(f"{key}={raw!r}: {e}") from None
    kw.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**kw)
