"""Alembic environment of the review service.

``redaction.review.db.migrate`` passes an open connection in ``config.attributes``; the
``alembic -c redaction/review/alembic.ini`` command line connects with
``$SOTTOVOCE_REVIEW_DB`` (or the ini file's URL) instead.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from redaction.review.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = os.environ.get("SOTTOVOCE_REVIEW_DB") or config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        engine = create_engine(url)
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
