"""The model registry: versions with their teams, status, progress and evaluation; which version labels
each team; re-classification runs with their checkpoint and per-chunk counts. The shipped model is
registered at start (not here: its version comes from the bundle).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("version", sa.String(40), primary_key=True),
        sa.Column("scope", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("base_version", sa.String(40), nullable=True),
        sa.Column("previous", sa.JSON, nullable=True),
        sa.Column("stage", sa.String(200), nullable=True),
        sa.Column("progress_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("progress_total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("params", sa.JSON, nullable=True),
        sa.Column("evaluation", sa.JSON, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
        sa.Column("promoted_by", sa.String(200), nullable=True),
        sa.Column("promoted_at", sa.DateTime, nullable=True),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "model_assignments",
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("assigned_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "reclassify_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("scope", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("last_record_id", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("changed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("chunks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "reclassify_chunks",
        sa.Column("run_id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("first_record_id", sa.Integer, nullable=False),
        sa.Column("last_record_id", sa.Integer, nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("changed", sa.Integer, nullable=False),
        sa.Column("stored_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("reclassify_chunks", "reclassify_runs", "model_assignments", "model_versions"):
        op.drop_table(table)
