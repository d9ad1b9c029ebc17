"""Batch rows skipped as duplicates are listed by line, beside the rejected ones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batch_errors", sa.Column("kind", sa.String(16), nullable=False, server_default="rejected"))
    op.create_index("ix_batch_errors_batch_kind", "batch_errors", ["batch_id", "kind", "id"])


def downgrade() -> None:
    op.drop_index("ix_batch_errors_batch_kind", table_name="batch_errors")
    with op.batch_alter_table("batch_errors") as batch:
        batch.drop_column("kind")
