"""Retrain on a customer's own labels, evaluate against the model it would replace, then promote or discard.

``POST /v1/models`` queues a version; the model worker (:mod:`service.model_jobs`) trains it in a
helper process with the same code as ``vocml train``: the shipped recipe (``data/train.toml``: its
files, weights and calibration set) plus every reviewed and audited record of the teams the version
will serve, at the weights asked for (audit labels win over a correction of the same record).

**Held out, never trained on:** a labelled record whose ``sha256(team, record id)`` falls in the first
``holdout_percent`` of the hash range. The rule depends only on the record, so the same records are
held out in every retrain, and both the new and the current model are scored on them, side by side
with the ``data/`` development set(s).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.auth import Principal
from service.db import audit_samples, model_versions, records, utcnow
from service.errors import ForbiddenError
from service.registry import EVERY_TEAM, ModelSet, assignments, scope_of, serving, teams_of
from vocml.data import LABELS, Record, read_records
from vocml.errors import ConfigError
from vocml.evaluate import score
from vocml.rationales import RationaleSpec

log = logging.getLogger("vocml.service.retrain")

STAGES = ("queued", "collecting labelled records", "training", "evaluating", "ready to promote")
HASH_SPACE = 2**32


@dataclass(frozen=True)
class Weights:
    """Training weight of a reviewed correction and of an audit label (the shipped files keep theirs)."""

    review: float = 2.0
    audit: float = 2.0

    def check(self) -> Weights:
        for name, value in (("review", self.review), ("audit", self.audit)):
            if not 0 <= value <= 100:
                raise ConfigError(f"weights.{name}={value} is out of range; use a number from 0 to 100, e.g. 2")
        return self


def held_out(team: str, record_id: int, percent: int) -> bool:
    """Whether a labelled record is kept for evaluation (never trained on): a stable hash of the record."""
    digest = hashlib.sha256(f"{team}\x1f{record_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") < HASH_SPACE * percent // 100


def queue_retrain(
    engine: Engine, principal: Principal, *, teams: Sequence[str] | None, weights: Weights, base_version: str | None
) -> dict[str, Any]:
    """Register a queued version serving ``teams`` (``None``: the principal's teams, every team for an
    unlimited admin); a team-limited admin may only name its own teams."""
    principal.require_role("admin")
    weights.check()
    if teams is not None:
        teams = sorted({t.strip() for t in teams if t.strip()})
        if not teams:
            raise ConfigError("teams is empty; name at least one team, or leave it out for every team you manage")
        for team in teams:
            principal.require_team(team)
    elif principal.teams is not None:
        teams = sorted(principal.teams)
    scope = scope_of(teams)
    with engine.begin() as conn:
        n = int(conn.execute(sa.select(sa.func.count()).select_from(model_versions)).scalar_one())
        version = f"{base_version or '0'}+r{n}.{secrets.token_hex(2)}"
        row = {
            "version": version,
            "scope": scope,
            "status": "queued",
            "base_version": base_version,
            "stage": STAGES[0],
            "progress_done": 0,
            "progress_total": len(STAGES) - 1,
            "params": {"weights": {"review": weights.review, "audit": weights.audit}},
            "created_by": principal.name,
            "created_at": utcnow(),
        }
        conn.execute(model_versions.insert().values(**row))
    log.info("retrain queued", extra={"event": "retrain_queued", "version": version, "scope": scope})
    return row


def labelled_records(conn: Connection, scope: str) -> Iterator[tuple[int, str, str, str, str, str | None]]:
    """``(record id, team, text, label, kind, source)`` of every reviewed or audited record of the scope's
    teams; an audit label wins over a correction of the same record."""
    teams = teams_of(scope)
    audited = (
        sa.select(audit_samples.c.record_id, sa.func.max(audit_samples.c.label).label("audit_label"))
        .where(audit_samples.c.label.is_not(None))
        .group_by(audit_samples.c.record_id)
        .subquery()
    )
    stmt = (
        sa.select(
            records.c.id,
            records.c.team,
            records.c.text,
            records.c.reviewed_label,
            audited.c.audit_label,
            records.c.source,
        )
        .outerjoin(audited, audited.c.record_id == records.c.id)
        .where(sa.or_(records.c.reviewed_label.is_not(None), audited.c.audit_label.is_not(None)))
        .order_by(records.c.id)
    )
    if teams is not None:
        stmt = stmt.where(records.c.team.in_(sorted(teams)))
    for rid, team, text, reviewed, audit, source in conn.execute(stmt):
        if audit is not None:
            yield int(rid), str(team), str(text), str(audit), "audit", source
        else:
            yield int(rid), str(team), str(text), str(reviewed), "review", source


def write_jsonl(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def train_bundle(
    files: list[str],
    weights: list[float],
    params: dict[str, Any],
    calibrate: str | None,
    out_dir: str,
    version: str,
    rationales: RationaleSpec | None = None,
    source_offsets: Sequence[str] = (),
) -> str:
    """Train and save a bundle (runs in the helper process); returns the bundle's directory."""
    from vocml.train import train

    train(
        files,
        out_dir,
        version=version,
        params=params,
        folds=0,
        weights=weights,
        calibrate=calibrate,
        n_jobs=1,
        rationales=rationales,
        source_offsets=source_offsets,
    )
    return out_dir


def compare(
    current: Sequence[str], new: Sequence[str], truth: Sequence[str], current_versions: Sequence[str | None]
) -> dict[str, Any]:
    """The two models' figures on the same labelled texts."""

    def figures(pred: Sequence[str]) -> dict[str, Any]:
        s = score(list(truth), list(pred), labels=LABELS)
        return {"macro_f1": s["macro_f1"], "accuracy": s["accuracy"], "per_label": s["per_label"]}

    return {
        "n": len(truth),
        "current": {**figures(current), "versions": sorted({v or "" for v in current_versions})},
        "new": figures(new),
    }


def evaluate_versions(
    conn: Connection, models: ModelSet, new_model: Any, scope: str, *, eval_sets: Sequence[Path], holdout_percent: int
) -> dict[str, Any]:
    """New vs current on the scope's held-out labelled records and on each ``data/`` development set."""
    held = [row for row in labelled_records(conn, scope) if held_out(row[1], row[0], holdout_percent)]
    assigned = assignments(conn)
    out: dict[str, Any] = {"holdout_percent": holdout_percent}
    if held:
        texts = [Record(text=text, team=team, source=source) for _, team, text, _, _, source in held]
        current_versions = [serving(assigned, team, models.shipped.version) for _, team, _, _, _, _ in held]
        current = []
        for rec, version in zip(texts, current_versions, strict=True):
            current.append(models.load(version).classify([rec])[0].label)
        new = [p.label for p in new_model.classify(texts)]
        out["customer"] = compare(current, new, [row[3] for row in held], current_versions)
    else:
        out["customer"] = {"n": 0, "note": "no held-out labelled records yet: review or audit more records"}
    current_default = models.load(serving(assigned, EVERY_TEAM if scope == EVERY_TEAM else "", models.shipped.version))
    out["data"] = {}
    for path in eval_sets:
        rows = read_records(path, require_label=True)
        recs = [Record(text=r.text, source=r.source) for r in rows]
        out["data"][path.name if path.parent.name != "real" else f"real/{path.name}"] = compare(
            [p.label for p in current_default.classify(recs)],
            [p.label for p in new_model.classify(recs)],
            [str(r.label) for r in rows],
            [current_default.version],
        )
    return out


def require_admin_of(principal: Principal, scope: str) -> None:
    """Promote, discard or roll back: an admin of every team the version serves."""
    principal.require_role("admin")
    teams = teams_of(scope)
    if principal.teams is not None and (teams is None or not teams <= principal.teams):
        raise ForbiddenError("this version serves teams outside your token's teams; ask an admin of all of them")


__all__ = [
    "STAGES",
    "Weights",
    "compare",
    "evaluate_versions",
    "held_out",
    "labelled_records",
    "queue_retrain",
    "require_admin_of",
    "train_bundle",
    "write_jsonl",
]
