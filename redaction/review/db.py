"""Engines, transactions and migrations, for SQLite (default) and PostgreSQL (by URL).

SQLite is run the way that survives concurrent writers (``../shared/NOTES.md``): the
driver's own transaction handling is off (``isolation_level=None``), every write transaction
starts with ``BEGIN IMMEDIATE`` (so two claims serialize instead of racing or failing with
"database is locked"), the journal is WAL, and ``busy_timeout`` makes a writer wait its turn.
Reads use a second engine whose transactions start with a plain ``BEGIN``: in WAL mode they
never block or wait for a writer. Within one process, write transactions also take a lock
first, so that threads wait their turn without SQLite's sleeping busy handler.

PostgreSQL runs at READ COMMITTED; the queue takes row locks (``FOR UPDATE``, ``SKIP LOCKED``)
where SQLite relies on its single writer.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int, synchronous: str) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=60,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@dataclass
class Database:
    """The service's engines: ``write`` for transactions that change anything, ``read`` for
    the rest (the same engine on PostgreSQL)."""

    write: Engine
    read: Engine
    url: str
    # SQLite has one writer at a time: threads of this process queue here (woken at once)
    # rather than in SQLite's busy handler, which sleeps in steps of up to 100 ms.
    _write_lock: threading.Lock | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.write.dialect.name == "sqlite" and self._write_lock is None:
            self._write_lock = threading.Lock()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.write.dialect.name

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any exception."""
        lock = self._write_lock or contextlib.nullcontext()
        with lock, Session(self.write, expire_on_commit=False) as s, s.begin():
            yield s

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction for reading (on SQLite a deferred one, which never waits)."""
        with Session(self.read, expire_on_commit=False) as s, s.begin():
            yield s

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()


def connect(url: str, *, pool_size: int = 20, synchronous: str = "FULL") -> Database:
    """Engines for ``url`` (``sqlite:///...`` or ``postgresql+psycopg://...``).

    Raises:
        ValueError: a database other than SQLite or PostgreSQL, or a PostgreSQL URL without
            the psycopg 3 driver.
    """
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
        path = url.split("///", 1)[-1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        kw = {"pool_size": pool_size, "synchronous": synchronous}
        write = _sqlite_engine(url, immediate=True, **kw)
        read = _sqlite_engine(url, immediate=False, **kw)
        return Database(write, read, url)
    if url.startswith("postgresql"):
        if not url.startswith("postgresql+psycopg://"):
            raise ValueError(f"{url.split(':', 1)[0]}: use postgresql+psycopg:// (psycopg 3)")
        engine = create_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, pool_timeout=60
        )
        return Database(engine, engine, url)
    raise ValueError(f"{url.split(':', 1)[0]}: the review service runs on SQLite or PostgreSQL")


def alembic_config(url: str):
    """Alembic's configuration for our migrations against ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic ``upgrade``) on the write engine."""
    from alembic import command

    cfg = alembic_config(db.url)
    with db.write.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(db: Database, revision: str = "base") -> None:
    """Undo migrations down to ``revision``."""
    from alembic import command

    cfg = alembic_config(db.url)
    with db.write.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def current_revision(db: Database) -> str | None:
    """The schema's Alembic revision (``None`` before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with db.read.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
