"""Drill-down (``GET /v1/records``), CSV export, reviews and the reviewed-records export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.engine import Engine

from service.audit import audited_records, to_label
from service.audit import label as label_audit
from service.auth import Principal
from service.db import utcnow
from service.deps import EngineDep, SettingsDep, UploaderDep, ViewerDep
from service.review_queue import review_queue
from service.schemas import AuditOut, CueName, DayQ, Label, RecordId, RecordOut, RecordsPageOut, ReviewIn, Source
from service.store import RecordFilter, get_visible_record, iter_records, page_records, record_out, review_record
from vocml.errors import ConfigError

router = APIRouter(prefix="/v1", tags=["records"])


def record_filter(
    team: Annotated[str | None, Query(max_length=200)] = None,
    label: Label | None = None,
    source: Source | None = None,
    uncertain: bool | None = None,
    q: Annotated[str | None, Query(max_length=200, description="case-insensitive substring of the text")] = None,
    start: DayQ = None,
    end: DayQ = None,
    cue: Annotated[CueName | None, Query(description="a behaviour (cue) found in the text, e.g. price_push")] = None,
) -> RecordFilter:
    """The filters shared by the drill-down and the export."""
    if start is not None and end is not None and start > end:
        raise ConfigError("start is after end; swap them")
    return RecordFilter(
        team=team,
        label=label,
        source=source,
        uncertain=uncertain,
        q=q or None,
        start=start,
        end=end,
        cue=cue.value if cue is not None else None,
    )


FilterDep = Annotated[RecordFilter, Depends(record_filter)]


@router.get("/records", summary="Stored records, newest first", response_model=RecordsPageOut)
def list_records(
    engine: EngineDep,
    principal: ViewerDep,
    filters: FilterDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """One page of records with their prediction and evidence; pass ``next_cursor`` back for the next page."""
    with engine.connect() as conn:
        rows, next_cursor = page_records(conn, filters, principal, limit=limit, cursor=cursor)
    return {"items": [record_out(r) for r in rows], "next_cursor": next_cursor}


EXPORT_COLUMNS = [
    "id",
    "external_id",
    "team",
    "source",
    "rep",
    "created_at",
    "label",
    "model_label",
    "confidence",
    "uncertain",
    "reviewed_by",
    "reviewed_at",
    "cues",
    "text",
]


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_lines(engine: Engine, filters: RecordFilter, principal: Principal) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for row in iter_records(engine, filters, principal):
        writer.writerow(
            [
                row["id"],
                _cell(row["external_id"]),
                _cell(row["team"]),
                row["source"],
                _cell(row["rep"]),
                row["created_at"].isoformat(),
                row["reviewed_label"] or row["label"],
                row["label"],
                row["confidence"],
                row["uncertain"],
                _cell(row["reviewed_by"]),
                row["reviewed_at"].isoformat() if row["reviewed_at"] else "",
                " ".join((row["prediction"] or {}).get("cues", [])),
                _cell(row["text"]),
            ]
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get(
    "/export.csv",
    summary="Export records as CSV (same filters)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_csv(engine: EngineDep, principal: ViewerDep, filters: FilterDep) -> StreamingResponse:
    """Every matching record, newest first, streamed."""
    if filters.team is not None:
        principal.require_team(filters.team)  # before the first byte is sent
    return StreamingResponse(
        _csv_lines(engine, filters, principal),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="vocml-records.csv"'},
    )


@router.post("/records/{record_id}/review", summary="Correct a record's label", response_model=RecordOut)
def review(record_id: RecordId, body: ReviewIn, engine: EngineDep, principal: UploaderDep) -> dict[str, Any]:
    """Store the reviewed label with who and when; trends use it instead of the model's label.

    With ``"audit": true`` the label answers the record's blind audit instead: it is kept apart (the
    record's own label and the counts do not change) and feeds the prediction-powered trend."""
    if body.audit:
        label_audit(engine, record_id, body.label, principal)
        with engine.connect() as conn:
            return record_out(get_visible_record(conn, record_id, principal))
    return record_out(review_record(engine, record_id, body.label, principal))


@router.get("/audit", summary="Audit records still to label, blind", response_model=AuditOut)
def audit_queue(
    engine: EngineDep,
    settings: SettingsDep,
    principal: UploaderDep,
    team: Annotated[str, Query(min_length=1, max_length=200)],
    period: Literal["week", "month"] = "month",
    start: DayQ = None,
    end: DayQ = None,
) -> dict[str, Any]:
    """A uniform random sample per team and ended period (drawn once, seeded, recorded), still to label:
    text, source and time only, never the model's label or scores. Answer each with
    ``POST /v1/records/{id}/review`` and ``{"label": ..., "audit": true}``."""
    if start is not None and end is not None and start > end:
        raise ConfigError("start is after end; swap them")
    today = utcnow().date()
    end = min(end or today, today)
    start = start or end - timedelta(days=92)
    if start > end:  # a range that has not begun: no period has ended in it
        return {"items": []}
    items = to_label(
        engine, principal, team, period, start, end, size=settings.audit_per_period, secret=settings.audit_seed
    )
    return {"items": items}


@router.get("/review-queue", summary="Records most worth a human look", response_model=RecordsPageOut)
def queue(
    engine: EngineDep,
    principal: UploaderDep,
    team: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    """The team's unreviewed records the model is least sure of, spread over behaviours and months, with
    the model's label, scores and evidence; never the audit sample. Correct them with
    ``POST /v1/records/{id}/review``."""
    with engine.connect() as conn:
        return {"items": review_queue(conn, principal, team, limit=limit), "next_cursor": None}


def _review_lines(engine: Engine, filters: RecordFilter, principal: Principal) -> Iterator[str]:
    """Reviewed records (``"kind": "review"``), then audit labels (``"kind": "audit"``)."""

    def line(row: dict[str, Any], label: str, kind: str) -> str:
        out = {
            "id": row["external_id"] or f"record-{row['id']}",
            "text": row["text"],
            "label": label,
            "kind": kind,
            "team": row["team"],
            "created_at": row["created_at"].isoformat() + "Z",
        }
        for key in ("source", "rep"):
            if row[key] is not None:
                out[key] = row[key]
        return json.dumps(out, ensure_ascii=False) + "\n"

    for row in iter_records(engine, filters, principal):
        if row["reviewed_label"] is not None:
            yield line(row, row["reviewed_label"], "review")
    for row, label in audited_records(engine, principal, team=filters.team):
        yield line(row, label, "audit")


@router.get(
    "/reviews/export",
    summary="Reviewed records in the training data contract (JSONL)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export_reviews(
    engine: EngineDep,
    principal: UploaderDep,
    team: Annotated[str | None, Query(max_length=200)] = None,
) -> StreamingResponse:
    """One JSON object per reviewed or audited record (``text``, ``label``, ``kind`` review|audit, ``id``,
    ``team``, ...), for ``vocml train --extra``."""
    if team is not None:
        principal.require_team(team)
    filters = RecordFilter(team=team)
    return StreamingResponse(
        _review_lines(engine, filters, principal),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="vocml-reviews.jsonl"'},
    )
