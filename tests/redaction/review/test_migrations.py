"""Alembic: the migration builds exactly the models' schema, and goes down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from redaction.review.db import connect, current_revision, downgrade, migrate
from redaction.review.models import Base


def test_migration_matches_models_and_round_trips(db_url):
    db = connect(db_url)
    try:
        migrate(db)
        assert current_revision(db) == "0001"
        with db.write.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        downgrade(db, "base")
        assert current_revision(db) is None
        with db.read.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        migrate(db)
        migrate(db)  # idempotent
        assert current_revision(db) == "0001"
    finally:
        db.dispose()
