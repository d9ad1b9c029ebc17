"""Audit samples (a seeded uniform draw per team and period, labelled blind and kept apart from
corrections) and the model's score sums per team, source and day (what prediction-powered trends need),
filled from the stored predictions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CHUNK = 5000


def upgrade() -> None:
    op.create_table(
        "audit_samples",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team", sa.String(200), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("seed", sa.String(64), nullable=False),
        sa.Column("drawn_at", sa.DateTime, nullable=False),
        sa.Column("label", sa.String(20), nullable=True),
        sa.Column("labelled_by", sa.String(200), nullable=True),
        sa.Column("labelled_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("team", "period", "period_start", "record_id", name="uq_audit_sample_record"),
        sa.Index("ix_audit_samples_record", "record_id"),
    )
    sums = op.create_table(
        "score_sums",
        sa.Column("team", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(30), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("needs", sa.Float, nullable=False),
        sa.Column("pitch", sa.Float, nullable=False),
        sa.Column("nn", sa.Float, nullable=False),
        sa.Column("np", sa.Float, nullable=False),
        sa.Column("pp", sa.Float, nullable=False),
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
    totals: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0, 0.0])
    last = 0
    while True:
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
            scores = prediction.get("scores") or {}
            needs, pitch = float(scores.get("needs_first", 0.0)), float(scores.get("pitch_first", 0.0))
            t = totals[(row.team, row.source or "", row.day)]
            t[0] += 1
            t[1] += needs
            t[2] += pitch
            t[3] += needs * needs
            t[4] += needs * pitch
            t[5] += pitch * pitch
        last = rows[-1].id
    if totals:
        op.bulk_insert(
            sums,
            [
                {
                    "team": k[0],
                    "source": k[1],
                    "day": k[2],
                    "n": int(v[0]),
                    "needs": v[1],
                    "pitch": v[2],
                    "nn": v[3],
                    "np": v[4],
                    "pp": v[5],
                }
                for k, v in sorted(totals.items())
            ],
        )


def downgrade() -> None:
    op.drop_table("score_sums")
    op.drop_table("audit_samples")
