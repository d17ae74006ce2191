"""Fixtures of the review-service tests: every service test runs on SQLite and on a real
PostgreSQL server started here from the Debian binaries (skipped, with the reason, only
where those binaries are absent)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from redaction.review.accounts import add_reviewer
from redaction.review.app import create_app
from redaction.review.audit import Actor
from redaction.review.config import Settings
from tests.redaction.review.helpers import PASSWORD, PgServer, login, pg_bin, record, wav_bytes

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch):
    """Argon2 with small parameters in-process (the real ones cost ~0.3 s a hash here);
    servers in subprocesses keep the defaults and upgrade these hashes at login."""
    from argon2 import PasswordHasher

    from redaction.review import security

    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the session; each test gets its own database."""
    if pg_bin() is None:
        pytest.skip(
            "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin "
            "(apt-get install -y postgresql)"
        )
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The database the test runs on."""
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request) -> str:
    """A fresh database URL for this test."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'review.db'}"
    return request.getfixturevalue("pg_server").create_database()


@dataclass
class Service:
    """The app under test, with helpers to enqueue clips and sign people in."""

    app: Any
    settings: Settings
    clients: list[TestClient] = field(default_factory=list)

    @property
    def db(self):
        return self.app.state.db

    @property
    def queue(self):
        return self.app.state.queue

    def enqueue(self, clip_id: str, **kw) -> str:
        """Enqueue a generated clip; returns the device's receipt."""
        rec, receipt = record(clip_id, **kw)
        self.queue.enqueue(rec, wav_bytes(rec["duration"]))
        return receipt

    def person(self, username: str, *, role: str = "reviewer") -> Actor:
        """A new account."""
        rid = add_reviewer(self.db, username, PASSWORD, role=role)
        return Actor(rid, username, role)

    def client(self, username: str | None = None, *, role: str = "reviewer") -> TestClient:
        """A browser-like client; signed in as a new account ``username`` if given."""
        c = TestClient(self.app, raise_server_exceptions=False)
        self.clients.append(c)
        if username:
            actor = self.person(username, role=role)
            c.csrf = login(c, username)
            c.actor = actor
            c.headers["X-CSRF-Token"] = c.csrf
        return c


def make_settings(db_url: str, data_dir: Path, **kw) -> Settings:
    """Settings for tests (small caps are set per test)."""
    return Settings(database_url=db_url, data_dir=data_dir, **kw)


@pytest.fixture
def make_service(db_url: str, tmp_path: Path):
    """Build the service with settings overrides: ``make_service(max_clips_per_day=2)``."""
    built: list[Service] = []

    def make(**kw) -> Service:
        assert not built, "one service per test"
        s = make_settings(db_url, tmp_path / f"data-{secrets.token_hex(3)}", **kw)
        svc = Service(create_app(s, purge_loop=False), s)
        built.append(svc)
        return svc

    yield make
    for svc in built:
        for c in svc.clients:
            c.close()
        svc.db.dispose()


@pytest.fixture
def service(make_service) -> Service:
    """The service with default settings."""
    return make_service()
