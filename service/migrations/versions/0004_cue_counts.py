"""Cue counts per team, source and day (what drives the share), filled from the stored predictions; and
each batch's expected row count, for progress in percent from the start.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHUNK = 5000


def upgrade() -> None:
    table = op.create_table(
        "cue_counts",
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(30), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("cue", sa.String(60), primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
    )
    conn = op.get_bind()
    records = sa.table(
        "records",
        sa.column("id", sa.Integer),
        sa.column("team", sa.String),
        sa.column("source", sa.String),
        sa.column("day", sa.Date),
        sa.column("prediction", sa.JSON),
    )
    counts: Counter[tuple[Any, ...]] = Counter()
    last = 0
    while True:  # stored predictions, in id order, a chunk at a time
        rows = conn.execute(
            sa.select(records.c.id, records.c.team, records.c.source, records.c.day, records.c.prediction)
            .where(records.c.id > last)
            .order_by(records.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        for row in rows:
            prediction = row.prediction if isinstance(row.prediction, dict) else json.loads(row.prediction or "{}")
            for cue in set(prediction.get("cues") or ()):
                counts[(row.team, row.source or "", row.day, cue)] += 1
        last = rows[-1].id
    op.add_column("batches", sa.Column("rows_expected", sa.Integer, nullable=True))
    if counts:
        op.bulk_insert(
            table, [{"team": t, "source": s, "day": d, "cue": c, "n": n} for (t, s, d, c), n in sorted(counts.items())]
        )


def downgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("rows_expected")
    op.drop_table("cue_counts")
