"""Promote a version, roll it back, and re-label the stored records it now serves.

Promotion points the version's teams at it (``model_assignments``) and queues a re-classification run.
The model worker (:mod:`service.model_jobs`) takes the run in chunks of ``reclassify_chunk_rows``
records in id order; each chunk is one transaction that rewrites the records' label, scores, evidence
and ``model_version``, moves ``label_counts`` (records not reviewed), ``cue_counts`` and ``score_sums``
by the difference, and advances the run's checkpoint. A killed worker loses at most the chunk in flight;
the next worker to find the run's heartbeat stale goes on from the checkpoint.

A run only touches records whose team the version serves *now* and that another version labelled, so a
later promotion or a rollback needs no cancelling: the older run finds nothing left to do.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.auth import Principal
from service.db import (
    model_assignments,
    model_versions,
    reclassify_chunks,
    reclassify_runs,
    records,
    upsert_counts,
    upsert_cue_counts,
    upsert_score_sums,
    utcnow,
)
from service.errors import ConflictError
from service.registry import EVERY_TEAM, ModelSet, assignments, get_version, serving, teams_of
from service.retrain import require_admin_of
from vocml.data import Record

log = logging.getLogger("vocml.service.reclassify")

PROMOTABLE = ("trained", "promoted", "retired", "shipped")


def _assign(conn: Connection, teams: list[str], version: str | None, shipped: str | None) -> None:
    """Point ``teams`` at ``version``; ``None`` (or the shipped version for ``*``) removes their rows."""
    conn.execute(model_assignments.delete().where(model_assignments.c.team.in_(teams)))
    if version is None or (teams == [EVERY_TEAM] and version == shipped):
        return
    now = utcnow()
    conn.execute(model_assignments.insert(), [{"team": t, "version": version, "assigned_at": now} for t in teams])


def _queue_run(conn: Connection, version: str, scope: str, shipped: str | None) -> int:
    clauses = _needs_clauses(assignments(conn), version, scope, None, shipped)
    total = conn.execute(sa.select(sa.func.count()).select_from(records).where(*clauses)).scalar_one()
    result = conn.execute(
        reclassify_runs.insert().values(
            version=version, scope=scope, status="queued", total=int(total), created_at=utcnow()
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # noqa: S101 - an insert always has one
    return int(key[0])


def promote(engine: Engine, version: str, principal: Principal, *, shipped: str | None) -> dict[str, Any]:
    """Make ``version`` label its teams' records from now on, and queue the re-labelling of the stored ones.

    Raises:
        ConflictError: the version is not trained (still queued or training, failed or discarded).
    """
    with engine.begin() as conn:
        row = get_version(conn, version, principal)
        require_admin_of(principal, row["scope"])
        if row["status"] not in PROMOTABLE:
            raise ConflictError(
                f"model {version} is {row['status']}; only a trained version can be promoted (wait for its "
                "training to finish, or start a new retrain)"
            )
        assigned = assignments(conn)
        teams = teams_of(row["scope"])
        keys = [EVERY_TEAM] if teams is None else sorted(teams)
        previous = {t: assigned.get(t) for t in keys}
        if all(serving(assigned, t, shipped) == version for t in keys):
            raise ConflictError(f"model {version} already labels these teams' records")
        _assign(conn, keys, version, shipped)
        values: dict[str, Any] = {"previous": previous, "promoted_by": principal.name, "promoted_at": utcnow()}
        if row["status"] != "shipped":
            values["status"] = "promoted"
        conn.execute(model_versions.update().where(model_versions.c.version == version).values(**values))
        run_id = _queue_run(conn, version, row["scope"], shipped)
    log.info("model promoted", extra={"event": "model_promoted", "version": version, "run": run_id})
    return {"version": version, "run": run_id, "previous": previous}


def rollback(engine: Engine, version: str, principal: Principal, *, shipped: str | None) -> dict[str, Any]:
    """Give ``version``'s teams back the versions they had before it was promoted, and re-label."""
    with engine.begin() as conn:
        row = get_version(conn, version, principal)
        require_admin_of(principal, row["scope"])
        previous: dict[str, str | None] = row["previous"] or {}
        assigned = assignments(conn)
        if not previous or not any(serving(assigned, t, shipped) == version for t in previous):
            raise ConflictError(f"model {version} labels none of its teams' records now; there is nothing to roll back")
        runs: list[int] = []
        for team, before in sorted(previous.items()):
            if serving(assigned, team, shipped) != version:
                continue  # promoted over since: leave that team alone
            _assign(conn, [team], before, shipped)
            target = serving(assignments(conn), team, shipped)
            if target is not None:
                runs.append(_queue_run(conn, target, team, shipped))
        if row["status"] == "promoted":
            conn.execute(model_versions.update().where(model_versions.c.version == version).values(status="retired"))
    log.info("model rolled back", extra={"event": "model_rolled_back", "version": version, "runs": runs})
    return {"version": version, "runs": runs, "restored": previous}


def _needs_clauses(
    assigned: dict[str, str], version: str, scope: str, after: int | None, shipped: str | None
) -> list[sa.ColumnElement[bool]]:
    """Records of ``scope`` whose team ``version`` serves now, labelled by another version."""
    clauses: list[sa.ColumnElement[bool]] = [
        sa.or_(records.c.model_version.is_(None), records.c.model_version != version)
    ]
    explicit = {t: v for t, v in assigned.items() if t != EVERY_TEAM}
    if (assigned.get(EVERY_TEAM) or shipped) == version:
        others = sorted(t for t, v in explicit.items() if v != version)
        if others:
            clauses.append(records.c.team.not_in(others))
    else:
        clauses.append(records.c.team.in_(sorted(t for t, v in explicit.items() if v == version)))
    teams = teams_of(scope)
    if teams is not None:
        clauses.append(records.c.team.in_(sorted(teams)))
    if after is not None:
        clauses.append(records.c.id > after)
    return clauses


def claim_run(engine: Engine, owner: str, stale_seconds: float) -> dict[str, Any] | None:
    """Take the oldest queued run, or a running one whose worker stopped beating."""
    now = utcnow()
    stale = now - timedelta(seconds=stale_seconds)
    c = reclassify_runs.c
    claimable = sa.or_(c.status == "queued", sa.and_(c.status == "running", c.heartbeat_at < stale))
    with engine.begin() as conn:
        for row in conn.execute(sa.select(reclassify_runs).where(claimable).order_by(c.id).limit(5)).mappings():
            result = conn.execute(
                reclassify_runs.update()
                .where(c.id == row["id"], claimable)
                .values(status="running", owner=owner, heartbeat_at=now)
            )
            if result.rowcount == 1:
                return dict(row)
    return None


class LostRun(Exception):
    """Another worker took the run over (this one's heartbeat went stale)."""


def run_chunk(engine: Engine, models: ModelSet, run: dict[str, Any], owner: str, chunk_rows: int) -> bool:
    """Re-label the next chunk of the run; ``False`` when the run is done (then marked so)."""
    version, scope = str(run["version"]), str(run["scope"])
    c = reclassify_runs.c
    with engine.connect() as conn:
        state = conn.execute(sa.select(reclassify_runs).where(c.id == run["id"])).mappings().one()
        assigned = assignments(conn)
        after = int(state["last_record_id"])

        def next_ids(after: int | None) -> list[int]:
            clauses = _needs_clauses(assigned, version, scope, after, models.shipped.version)
            stmt = sa.select(records.c.id).where(*clauses).order_by(records.c.id).limit(chunk_rows)
            return [int(i) for i in conn.execute(stmt).scalars()]

        ids = next_ids(after)
        if not ids and after > 0:
            # a record stored before the promotion reached every process may sit behind the checkpoint
            ids = next_ids(None)
    if not ids:
        with engine.begin() as conn:
            result = conn.execute(
                reclassify_runs.update()
                .where(c.id == run["id"], c.owner == owner)
                .values(status="done", finished_at=utcnow(), heartbeat_at=utcnow())
            )
            if result.rowcount != 1:
                raise LostRun(str(run["id"]))
        log.info("re-classification done", extra={"event": "reclassify_done", "run": run["id"]})
        return False
    model = models.load(version)
    with engine.connect() as conn:
        texts = {
            int(r.id): Record(text=str(r.text), team=str(r.team), source=r.source)  # the source's offsets apply
            for r in conn.execute(
                sa.select(records.c.id, records.c.text, records.c.team, records.c.source).where(records.c.id.in_(ids))
            )
        }
    order = sorted(texts)
    predictions = dict(zip(order, model.classify([texts[i] for i in order]), strict=True))
    with engine.begin() as conn:
        state = conn.execute(sa.select(reclassify_runs).where(c.id == run["id"]).with_for_update()).mappings().one()
        if state["owner"] != owner or state["status"] != "running":
            raise LostRun(str(run["id"]))
        rows = conn.execute(
            sa.select(
                records.c.id,
                records.c.team,
                records.c.source,
                records.c.day,
                records.c.label,
                records.c.reviewed_label,
                records.c.prediction,
                records.c.model_version,
            )
            .where(records.c.id.in_(order))
            .with_for_update()
        ).all()
        counts: Counter[tuple[str, str, Any, str, str]] = Counter()
        cues: Counter[tuple[str, str, Any, str]] = Counter()
        sums: dict[tuple[str, str, Any], list[float]] = {}
        updates = []
        changed = 0
        assigned_now = assignments(conn)  # a promotion since the chunk was read hands its teams on
        for r in rows:
            if r.model_version == version or serving(assigned_now, r.team, models.shipped.version) != version:
                continue
            pred = predictions[int(r.id)]
            old = r.prediction if isinstance(r.prediction, dict) else {}
            source = r.source or ""
            if pred.label != r.label:
                changed += 1
                if r.reviewed_label is None:  # a reviewed record counts under its reviewed label
                    counts[(r.team, source, r.day, r.label, "model")] -= 1
                    counts[(r.team, source, r.day, pred.label, "model")] += 1
            for cue in set(old.get("cues") or ()):
                cues[(r.team, source, r.day, cue)] -= 1
            for cue in set(pred.cues):
                cues[(r.team, source, r.day, cue)] += 1
            old_scores = old.get("scores") or {}
            on, op = float(old_scores.get("needs_first", 0.0)), float(old_scores.get("pitch_first", 0.0))
            nn, np_ = float(pred.scores.get("needs_first", 0.0)), float(pred.scores.get("pitch_first", 0.0))
            s = sums.setdefault((r.team, source, r.day), [0, 0.0, 0.0, 0.0, 0.0, 0.0])
            s[1] += nn - on
            s[2] += np_ - op
            s[3] += nn * nn - on * on
            s[4] += nn * np_ - on * op
            s[5] += np_ * np_ - op * op
            updates.append(
                {
                    "_id": int(r.id),
                    "_label": pred.label,
                    "_confidence": pred.confidence,
                    "_uncertain": pred.uncertain,
                    "_prediction": {
                        "scores": pred.scores,
                        "cues": pred.cues,
                        "evidence": [
                            {"phrase": e.phrase, "start": e.start, "end": e.end, "weight": e.weight}
                            for e in pred.evidence
                        ],
                    },
                    "_version": version,
                }
            )
        if updates:
            conn.execute(
                records.update()
                .where(records.c.id == sa.bindparam("_id"))
                .values(
                    label=sa.bindparam("_label"),
                    confidence=sa.bindparam("_confidence"),
                    uncertain=sa.bindparam("_uncertain"),
                    prediction=sa.bindparam("_prediction", type_=records.c.prediction.type),
                    model_version=sa.bindparam("_version"),
                ),
                updates,
            )
        upsert_counts(conn, dict(counts))
        upsert_cue_counts(conn, dict(cues))
        upsert_score_sums(conn, sums)
        seq = int(state["chunks"]) + 1
        conn.execute(
            reclassify_chunks.insert().values(
                run_id=run["id"],
                seq=seq,
                first_record_id=order[0],
                last_record_id=order[-1],
                records=len(updates),
                changed=changed,
                stored_at=utcnow(),
            )
        )
        conn.execute(
            reclassify_runs.update()
            .where(c.id == run["id"])
            .values(
                last_record_id=max(int(state["last_record_id"]), order[-1]),
                done=c.done + len(updates),
                changed=c.changed + changed,
                chunks=seq,
                heartbeat_at=utcnow(),
            )
        )
    return True


def runs_of(conn: Connection, version: str, *, chunks: int = 20) -> list[dict[str, Any]]:
    """The re-classification runs toward ``version``, newest first, each with its last ``chunks`` chunks."""
    out = []
    for row in conn.execute(
        sa.select(reclassify_runs).where(reclassify_runs.c.version == version).order_by(reclassify_runs.c.id.desc())
    ).mappings():
        item = {k: row[k] for k in ("id", "status", "total", "done", "changed", "chunks", "created_at", "finished_at")}
        item["recent_chunks"] = [
            dict(ch)
            for ch in conn.execute(
                sa.select(
                    reclassify_chunks.c.seq,
                    reclassify_chunks.c.records,
                    reclassify_chunks.c.changed,
                    reclassify_chunks.c.stored_at,
                )
                .where(reclassify_chunks.c.run_id == row["id"])
                .order_by(reclassify_chunks.c.seq.desc())
                .limit(chunks)
            ).mappings()
        ]
        out.append(item)
    return out


__all__ = ["LostRun", "claim_run", "promote", "rollback", "run_chunk", "runs_of"]
