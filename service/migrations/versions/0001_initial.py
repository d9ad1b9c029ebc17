"""Initial schema: tokens, sessions, batches, batch errors, records, label counts.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("teams", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("token_id", sa.Integer, sa.ForeignKey("tokens.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(2000), nullable=False),
        sa.Column("filename", sa.String(300), nullable=True),
        sa.Column("fmt", sa.String(10), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("rows_total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_stored", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_rejected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_duplicate", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_consumed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("token_id", sa.Integer, nullable=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_batches_sha256", "batches", ["sha256"])
    op.create_index("ix_batches_status", "batches", ["status"])
    op.create_table(
        "batch_errors",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("batch_id", sa.String(32), nullable=False),
        sa.Column("line", sa.Integer, nullable=True),
        sa.Column("field", sa.String(50), nullable=True),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_batch_errors_batch", "batch_errors", ["batch_id", "id"])
    op.create_table(
        "records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("source", sa.String(30), nullable=True),
        sa.Column("rep", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("batch_id", sa.String(32), nullable=True),
        sa.Column("label", sa.String(20), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("uncertain", sa.Boolean, nullable=False),
        sa.Column("prediction", sa.JSON, nullable=False),
        sa.Column("reviewed_label", sa.String(20), nullable=True),
        sa.Column("reviewed_by", sa.String(200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime, nullable=True),
        sa.Column("ingested_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("team", "external_id", name="uq_records_team_external_id"),
    )
    op.create_index("ix_records_team_created", "records", ["team", "created_at", "id"])
    op.create_index("ix_records_created", "records", ["created_at", "id"])
    op.create_table(
        "label_counts",
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(30), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("label", sa.String(20), primary_key=True),
        sa.Column("kind", sa.String(10), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("label_counts", "records", "batch_errors", "batches", "sessions", "tokens"):
        op.drop_table(table)
