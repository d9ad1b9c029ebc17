"""The audit sample: a small uniform random draw of each team's records per period, labelled blind by a
reader, that makes the trend's estimate unbiased for this customer's text (:mod:`service.ppi`).

A period is drawn once, when it has ended (a draw inside a running period would miss the records still
to come), from a seed made of the team, the period and the service's audit seed: the same database
always gives the same sample. Audit labels are kept in ``audit_samples``, apart from ordinary
corrections (which are not a random sample and so cannot give unbiased estimates).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.auth import Principal
from service.db import audit_samples, records, utcnow
from service.errors import NotFoundError
from service.trends import as_date, period_end, period_start
from vocml.data import LABELS


def periods_between(start: date, end: date, period: str) -> list[date]:
    """Starts of the periods that overlap ``start``-``end``, oldest first."""
    out = []
    current = period_start(start, period)
    while current <= end:
        out.append(current)
        current = period_end(current, period) + timedelta(days=1)
    return out


def seed_of(team: str, period: str, start: date, secret: str) -> str:
    return hashlib.sha256(f"{secret}|{team}|{period}|{start.isoformat()}".encode()).hexdigest()[:32]


def draw(conn: Connection, team: str, period: str, start: date, *, size: int, secret: str, today: date) -> int:
    """Draw (once) the audit sample of ``team`` for the period starting at ``start``; return its size.

    Nothing is drawn for a period that has not ended by ``today``."""
    c = audit_samples.c
    existing = conn.execute(
        sa.select(sa.func.count()).where(c.team == team, c.period == period, c.period_start == start)
    ).scalar_one()
    if existing or period_end(start, period) >= today:
        return int(existing)
    end = period_end(start, period)
    ids = [
        int(i)
        for i in conn.execute(
            sa.select(records.c.id)
            .where(
                records.c.team == team,
                records.c.created_at >= datetime.combine(start, time.min),
                records.c.created_at < datetime.combine(end + timedelta(days=1), time.min),
            )
            .order_by(records.c.id)
        ).scalars()
    ]
    if not ids:
        return 0
    seed = seed_of(team, period, start, secret)
    chosen = sorted(random.Random(seed).sample(ids, min(size, len(ids))))
    now = utcnow()
    conn.execute(
        audit_samples.insert(),
        [
            {"team": team, "period": period, "period_start": start, "record_id": i, "seed": seed, "drawn_at": now}
            for i in chosen
        ],
    )
    return len(chosen)


def to_label(
    engine: Engine,
    principal: Principal,
    team: str,
    period: str,
    start: date,
    end: date,
    *,
    size: int,
    secret: str,
    today: date | None = None,
) -> list[dict[str, Any]]:
    """The audit records of ``team`` still to label in the periods overlapping ``start``-``end`` (drawn
    on first request), blind: their text, source and time, never the model's label or scores."""
    principal.require_team(team)
    today = today or utcnow().date()
    starts = periods_between(start, end, period)
    with engine.begin() as conn:
        for s in starts:
            draw(conn, team, period, s, size=size, secret=secret, today=today)
    c = audit_samples.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(records.c.id, records.c.text, records.c.source, records.c.created_at, c.period_start)
            .join(records, records.c.id == c.record_id)
            .where(c.team == team, c.period == period, c.period_start.in_(starts), c.label.is_(None))
            .order_by(c.period_start, records.c.id)
        ).all()
    return [
        {"id": r.id, "text": r.text, "source": r.source, "created_at": r.created_at, "period_start": r.period_start}
        for r in rows
    ]


def label(engine: Engine, record_id: int, value: str, principal: Principal) -> int:
    """Store a reader's audit label on every audit sample holding the record; return how many.

    Raises:
        NotFoundError: the record is in no audit sample the principal may see.
    """
    if value not in LABELS:
        raise ValueError(value)
    principal.require_role("uploader")
    c = audit_samples.c
    with engine.begin() as conn:
        team = conn.execute(sa.select(c.team).where(c.record_id == record_id).limit(1)).scalar()
        if team is None or not principal.can_see(team):
            raise NotFoundError(f"record {record_id} is in no audit sample visible to this token")
        result = conn.execute(
            audit_samples.update()
            .where(c.record_id == record_id)
            .values(label=value, labelled_by=principal.name, labelled_at=utcnow())
        )
    return int(result.rowcount)


def audited_records(
    engine: Engine, principal: Principal, *, team: str | None = None
) -> Iterator[tuple[dict[str, Any], str]]:
    """Every labelled audit record the principal may see (once, whatever the periods it was drawn in),
    with its audit label, oldest first."""
    from service.store import SELECT_COLUMNS

    c = audit_samples.c
    labelled = (
        sa.select(c.record_id, sa.func.max(c.label).label("label"))
        .where(c.label.is_not(None))
        .group_by(c.record_id)
        .subquery()
    )
    stmt = sa.select(*SELECT_COLUMNS, labelled.c.label.label("audit_label")).join(
        labelled, labelled.c.record_id == records.c.id
    )
    if team is not None:
        stmt = stmt.where(records.c.team == team)
    if principal.teams is not None:
        stmt = stmt.where(records.c.team.in_(sorted(principal.teams)))
    with engine.connect() as conn:
        for row in conn.execute(stmt.order_by(records.c.created_at, records.c.id)).mappings():
            yield dict(row), str(row["audit_label"])


def audit_labels(
    conn: Connection, teams: Sequence[str], period: str, start: date | None, end: date | None
) -> dict[date, list[tuple[str, float, float, str]]]:
    """Labelled audit records per period start: ``(label, P(needs_first), P(pitch_first), source)``, the
    model's probabilities read from the stored prediction (``source`` is ``''`` when the record has none)."""
    c = audit_samples.c
    stmt = (
        sa.select(c.period_start, c.label, records.c.prediction, records.c.source)
        .join(records, records.c.id == c.record_id)
        .where(c.team.in_(list(teams)), c.period == period, c.label.is_not(None))
    )
    if start is not None:
        stmt = stmt.where(c.period_start >= period_start(start, period))
    if end is not None:
        stmt = stmt.where(c.period_start <= end)
    out: dict[date, list[tuple[str, float, float, str]]] = defaultdict(list)
    for start_day, value, prediction, source in conn.execute(stmt):
        if isinstance(prediction, str):
            prediction = json.loads(prediction)
        scores = (prediction or {}).get("scores") or {}
        out[as_date(start_day)].append(
            (str(value), float(scores.get("needs_first", 0.0)), float(scores.get("pitch_first", 0.0)), source or "")
        )
    return out


__all__ = ["audit_labels", "audited_records", "draw", "label", "periods_between", "to_label"]
