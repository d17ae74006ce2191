"""The review queue's first schema, with the audit log made append-only by triggers.

Revision ID: 0001
Revises:
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")
ACTIVE = sa.text("state = 'active'")

SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$""",
    """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "reviewers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("profile_languages", sa.String(200), nullable=False),
        sa.Column("profile_accents", sa.String(200), nullable=False),
        sa.Column("profile_epsilon", sa.Float, nullable=True),
    )
    op.create_table(
        "sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column(
            "reviewer_id",
            sa.Integer,
            sa.ForeignKey("reviewers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_table(
        "clips",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("masked_transcript", sa.Text, nullable=False),
        sa.Column("spans", sa.Text, nullable=False),
        sa.Column("content_warning", sa.Boolean, nullable=False),
        sa.Column("categories", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("linkage", sa.String(128), nullable=False),
        sa.Column("receipt_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("audio_name", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("accent", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("enqueued_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_clips_expires_at", "clips", ["expires_at"])
    op.create_index("ix_clips_linkage", "clips", ["linkage"])
    op.create_index("ix_clips_status_enqueued", "clips", ["status", "enqueued_at"])
    op.create_table(
        "assignments",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("clip_id", sa.String(64), nullable=False),
        sa.Column(
            "reviewer_id",
            sa.Integer,
            sa.ForeignKey("reviewers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("linkage", sa.String(128), nullable=False),
        sa.Column("flagged", sa.Boolean, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("claimed_at", sa.DateTime, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("redo", sa.Boolean, nullable=False),
        sa.Column("warning_ack", sa.Boolean, nullable=False),
    )
    op.create_index("ix_assignments_clip_id", "assignments", ["clip_id"])
    for name, column in (
        ("uq_assignments_active_clip", "clip_id"),
        ("uq_assignments_active_reviewer", "reviewer_id"),
    ):
        op.create_index(
            name,
            "assignments",
            [column],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )
    op.create_index("ix_assignments_reviewer_claimed", "assignments", ["reviewer_id", "claimed_at"])
    op.create_index("ix_assignments_reviewer_linkage", "assignments", ["reviewer_id", "linkage"])
    op.create_table(
        "submissions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "clip_id", sa.String(64), sa.ForeignKey("clips.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "assignment_id",
            BigId,
            sa.ForeignKey("assignments.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column(
            "reviewer_id",
            sa.Integer,
            sa.ForeignKey("reviewers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("feedback", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_submissions_clip_id", "submissions", ["clip_id"])
    op.create_table(
        "worklog",
        sa.Column(
            "reviewer_id",
            sa.Integer,
            sa.ForeignKey("reviewers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("clips", sa.Integer, nullable=False),
        sa.Column("earned_cents", sa.Integer, nullable=False),
    )
    op.create_table(
        "transparency",
        sa.Column("receipt_sha256", sa.String(64), primary_key=True),
        sa.Column("enqueued_at", sa.DateTime, nullable=False),
        sa.Column("listened_at", sa.DateTime, nullable=True),
        sa.Column("reviewed_at", sa.DateTime, nullable=True),
        sa.Column("deleted_at", sa.DateTime, nullable=True),
        sa.Column("forget_after", sa.DateTime, nullable=False),
    )
    op.create_index("ix_transparency_forget_after", "transparency", ["forget_after"])
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor_id", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("clip_id", sa.String(64), nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("detail", sa.String(300), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_clip_id", "audit_log", ["clip_id"])
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_log")  # drops its triggers
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.drop_table("audit_log")
    for table in ("transparency", "worklog", "submissions", "assignments", "clips", "sessions"):
        op.drop_table(table)
    op.drop_table("reviewers")
