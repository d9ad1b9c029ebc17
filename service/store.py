"""Records: bulk inserts with their label counts, the filtered drill-down with cursors, and reviews."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.auth import Principal
from service.db import (
    dialect_insert,
    label_counts,
    records,
    upsert_counts,
    upsert_cue_counts,
    upsert_score_sums,
    utcnow,
)
from service.errors import NotFoundError
from vocml.cues import CUES
from vocml.data import LABELS, MAX_YEAR, MIN_YEAR, Record
from vocml.errors import ConfigError
from vocml.model import Prediction

CountKey = tuple[str, str, date, str, str]


def to_utc_naive(value: datetime) -> datetime:
    """An aware datetime as naive UTC (naive values are taken as UTC already)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def existing_ids(conn: Connection, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which (team, external id) pairs are already stored."""
    found: set[tuple[str, str]] = set()
    by_team: dict[str, list[str]] = {}
    for team, external_id in dict.fromkeys(pairs):
        by_team.setdefault(team, []).append(external_id)
    # one team at a time with a plain IN list: PostgreSQL answers it from the (team, external_id) index,
    # where a row-value IN over both columns scanned the whole table
    for team, ids in by_team.items():
        for lo in range(0, len(ids), 1000):
            rows = conn.execute(
                sa.select(records.c.external_id).where(
                    records.c.team == team, records.c.external_id.in_(ids[lo : lo + 1000])
                )
            )
            found.update((team, r.external_id) for r in rows)
    return found


def record_row(
    rec: Record,
    pred: Prediction,
    *,
    batch_id: str | None,
    default_time: datetime,
    now: datetime,
    model_version: str | None = None,
) -> dict[str, Any]:
    """The ``records`` row for a validated record and its prediction."""
    created = to_utc_naive(rec.created_at) if rec.created_at is not None else default_time
    return {
        "team": rec.team,
        "external_id": rec.id,
        "text": rec.text,
        "source": rec.source,
        "rep": rec.rep,
        "created_at": created,
        "day": created.date(),
        "batch_id": batch_id,
        "label": pred.label,
        "confidence": pred.confidence,
        "uncertain": pred.uncertain,
        "prediction": {
            "scores": pred.scores,
            "cues": pred.cues,
            "evidence": [
                {"phrase": e.phrase, "start": e.start, "end": e.end, "weight": e.weight} for e in pred.evidence
            ],
        },
        "reviewed_label": None,
        "reviewed_by": None,
        "reviewed_at": None,
        "ingested_at": now,
        "model_version": model_version,
    }


def insert_records(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert rows and add them to ``label_counts`` and ``cue_counts`` (same transaction); return the rows not stored
    because their (team, id) is stored already, by this transaction or by a concurrent one.

    Rows are inserted in (team, id) order, like the counts: concurrent writers then take their locks
    in the same order and cannot deadlock.
    """
    if not rows:
        return []
    with_id = sorted((r for r in rows if r["external_id"] is not None), key=lambda r: (r["team"], r["external_id"]))
    without_id = [r for r in rows if r["external_id"] is None]
    skipped: list[dict[str, Any]] = []
    if with_id:
        insert = dialect_insert(conn)
        stmt = insert(records).on_conflict_do_nothing(index_elements=["team", "external_id"])
        stmt = stmt.returning(records.c.team, records.c.external_id)  # which rows went in (any order)
        stored = {(r.team, r.external_id) for r in conn.execute(stmt, with_id)}
        skipped = [r for r in with_id if (r["team"], r["external_id"]) not in stored]
        # a row repeated within this insert is stored once: count it once
        seen: set[tuple[str, str]] = set()
        for r in with_id:
            key = (r["team"], r["external_id"])
            if key in stored and key in seen:
                skipped.append(r)
            seen.add(key)
    if without_id:
        conn.execute(records.insert(), without_id)
    skipped_ids = {id(r) for r in skipped}
    deltas: Counter[CountKey] = Counter(
        (r["team"], r["source"] or "", r["day"], r["label"], "model") for r in rows if id(r) not in skipped_ids
    )
    upsert_counts(conn, dict(deltas))
    cue_deltas: Counter[tuple[str, str, date, str]] = Counter(
        (r["team"], r["source"] or "", r["day"], cue)
        for r in rows
        if id(r) not in skipped_ids
        for cue in set((r.get("prediction") or {}).get("cues") or ())
    )
    upsert_cue_counts(conn, dict(cue_deltas))
    sums: dict[tuple[str, str, date], list[float]] = {}
    for r in rows:
        if id(r) in skipped_ids:
            continue
        scores = (r.get("prediction") or {}).get("scores") or {}
        needs, pitch = float(scores.get("needs_first", 0.0)), float(scores.get("pitch_first", 0.0))
        s = sums.setdefault((r["team"], r["source"] or "", r["day"]), [0, 0.0, 0.0, 0.0, 0.0, 0.0])
        s[0] += 1
        s[1] += needs
        s[2] += pitch
        s[3] += needs * needs
        s[4] += needs * pitch
        s[5] += pitch * pitch
    upsert_score_sums(conn, sums)
    return skipped


# --- drill-down -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordFilter:
    """The filters shared by ``/v1/records`` and ``/v1/export.csv``."""

    team: str | None = None
    label: str | None = None
    source: str | None = None
    uncertain: bool | None = None
    q: str | None = None
    start: date | None = None
    end: date | None = None
    cue: str | None = None  # a behaviour found in the text (a cue name)


def effective_label() -> sa.ColumnElement[str]:
    """The reviewed label if any, else the model's."""
    return sa.func.coalesce(records.c.reviewed_label, records.c.label)


def visible_teams_clause(principal: Principal) -> sa.ColumnElement[bool]:
    """Rows the principal may see."""
    if principal.teams is None:
        return sa.true()
    return records.c.team.in_(sorted(principal.teams))


def filter_clauses(f: RecordFilter, principal: Principal) -> list[sa.ColumnElement[bool]]:
    """WHERE clauses for a filter, always limited to the principal's teams."""
    if f.team is not None:
        principal.require_team(f.team)
    clauses = [visible_teams_clause(principal)]
    if f.team is not None:
        clauses.append(records.c.team == f.team)
    if f.label is not None:
        clauses.append(effective_label() == f.label)
    if f.source is not None:
        clauses.append(records.c.source == f.source)
    if f.uncertain is not None:
        clauses.append(records.c.uncertain.is_(f.uncertain))
    if f.q:
        escaped = f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(records.c.text.ilike(f"%{escaped}%", escape="\\"))
    if f.cue is not None:
        if f.cue not in CUES:
            raise ConfigError(f"unknown behaviour {f.cue!r}; known: {', '.join(CUES)}")
        clauses.append(sa.cast(records.c.prediction, sa.Text).like(f'%"{f.cue}"%'))  # cue names are [a-z_]
    if f.start is not None:
        clauses.append(records.c.created_at >= datetime.combine(f.start, time.min))
    if f.end is not None:
        clauses.append(records.c.created_at < datetime.combine(f.end + timedelta(days=1), time.min))
    return clauses


def encode_cursor(created_at: datetime, record_id: int) -> str:
    """An opaque cursor for the row after which the next page starts."""
    raw = json.dumps([created_at.isoformat(), record_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """Inverse of :func:`encode_cursor`; :class:`ConfigError` for a cursor we did not issue."""
    invalid = "the cursor is not valid; pass the next_cursor of a previous page unchanged"
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, record_id = json.loads(raw)
        when, number = datetime.fromisoformat(created), int(record_id)
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        raise ConfigError(invalid) from e
    if not (0 <= number < 2**31 and MIN_YEAR <= when.year <= MAX_YEAR) or type(record_id) is not int:
        raise ConfigError(invalid)
    return when, number


SELECT_COLUMNS = [
    records.c.id,
    records.c.external_id,
    records.c.team,
    records.c.source,
    records.c.rep,
    records.c.created_at,
    records.c.text,
    records.c.label,
    records.c.confidence,
    records.c.uncertain,
    records.c.prediction,
    records.c.reviewed_label,
    records.c.reviewed_by,
    records.c.reviewed_at,
    records.c.batch_id,
    records.c.model_version,
]


def page_records(
    conn: Connection, f: RecordFilter, principal: Principal, *, limit: int, cursor: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page, newest first, and the cursor of the next page (``None`` at the end)."""
    clauses = filter_clauses(f, principal)
    if cursor:
        created, record_id = decode_cursor(cursor)
        clauses.append(
            sa.or_(
                records.c.created_at < created,
                sa.and_(records.c.created_at == created, records.c.id < record_id),
            )
        )
    stmt = (
        sa.select(*SELECT_COLUMNS)
        .where(*clauses)
        .order_by(records.c.created_at.desc(), records.c.id.desc())
        .limit(limit + 1)
    )
    rows = [dict(r) for r in conn.execute(stmt).mappings()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last["created_at"], last["id"])
    return rows, next_cursor


def iter_records(
    engine: Engine, f: RecordFilter, principal: Principal, *, page: int = 1000
) -> Iterator[dict[str, Any]]:
    """Every matching record, newest first, read page by page (for streamed exports)."""
    cursor: str | None = None
    while True:
        with engine.connect() as conn:
            rows, cursor = page_records(conn, f, principal, limit=page, cursor=cursor)
        yield from rows
        if cursor is None:
            return


def record_out(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row in the API's record shape."""
    pred = row["prediction"] or {}
    review = None
    if row["reviewed_label"] is not None:
        review = {"label": row["reviewed_label"], "reviewed_by": row["reviewed_by"], "reviewed_at": row["reviewed_at"]}
    return {
        "id": row["id"],
        "external_id": row["external_id"],
        "team": row["team"],
        "source": row["source"],
        "rep": row["rep"],
        "created_at": row["created_at"],
        "text": row["text"],
        "label": row["reviewed_label"] or row["label"],
        "prediction": {
            "label": row["label"],
            "confidence": row["confidence"],
            "scores": pred.get("scores", {}),
            "uncertain": row["uncertain"],
            "cues": pred.get("cues", []),
            "evidence": pred.get("evidence", []),
        },
        "model_version": row.get("model_version"),
        "review": review,
        "batch_id": row["batch_id"],
    }


# --- reviews ----------------------------------------------------------------------------------


def get_visible_record(conn: Connection, record_id: int, principal: Principal) -> dict[str, Any]:
    """A record the principal may see; :class:`NotFoundError` otherwise (existence is not revealed)."""
    row = conn.execute(sa.select(*SELECT_COLUMNS).where(records.c.id == record_id)).mappings().first()
    if row is None or not principal.can_see(row["team"]):
        raise NotFoundError(f"no record {record_id} visible to this token")
    return dict(row)


def review_record(engine: Engine, record_id: int, label: str, principal: Principal) -> dict[str, Any]:
    """Store a reviewed label and move one count in ``label_counts``; return the updated record.

    An uploader may review records of its own teams; an admin any record it can see.
    """
    if label not in LABELS:
        raise ConfigError(f"unknown label {label!r}; use one of {', '.join(LABELS)}")
    principal.require_role("uploader")
    for _attempt in range(5):
        with engine.begin() as conn:
            row = get_visible_record(conn, record_id, principal)
            previous = row["reviewed_label"]
            now = utcnow()
            guard = records.c.reviewed_label.is_(None) if previous is None else records.c.reviewed_label == previous
            result = conn.execute(
                records.update()
                # the model's label too: a re-classification may move it (and its count) meanwhile
                .where(records.c.id == record_id, guard, records.c.label == row["label"])
                .values(reviewed_label=label, reviewed_by=principal.name, reviewed_at=now)
            )
            if result.rowcount != 1:
                continue  # a concurrent review won; read again
            day_row = conn.execute(sa.select(records.c.day).where(records.c.id == record_id)).scalar_one()
            source = row["source"] or ""
            old_key = (
                row["team"],
                source,
                day_row,
                previous or row["label"],
                "model" if previous is None else "review",
            )
            moves: Counter[CountKey] = Counter({old_key: -1})
            moves[(row["team"], source, day_row, label, "review")] += 1  # the same key again nets to no change
            upsert_counts(conn, dict(moves))
            row.update(reviewed_label=label, reviewed_by=principal.name, reviewed_at=now)
            return row
    raise ConfigError("the record is being reviewed concurrently; retry")


def count_rows(conn: Connection) -> int:
    """Total stored records according to ``label_counts``."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.sum(label_counts.c.n), 0))).scalar_one())
