"""The review queue: the records of a team most worth a human look, for the model to learn from.

Uncertainty first, then diversity (as active-learning tools such as small-text or modAL do it): the
least confident unreviewed records are the candidates; they are grouped by what the model found (the
first behaviour, or none) and by month, and taken round-robin across the groups, least confident first
within each, with repeated texts skipped, so that a lead does not label twenty copies of the same
text. The audit sample is never in the queue: audit records are for measurement and must stay a
uniform random sample, labelled blind.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.auth import Principal
from service.db import audit_samples
from service.db import records as records_table
from service.store import SELECT_COLUMNS, record_out

CANDIDATES_PER_ITEM = 10  # the pool the diversity step chooses from


def review_queue(conn: Connection, principal: Principal, team: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """Up to ``limit`` records of ``team`` to review, in the order to review them (see the module)."""
    principal.require_team(team)
    r = records_table.c
    in_audit = sa.select(audit_samples.c.record_id).where(audit_samples.c.team == team)
    rows = conn.execute(
        sa.select(*SELECT_COLUMNS)
        .where(r.team == team, r.reviewed_label.is_(None), r.id.not_in(in_audit))
        .order_by(r.confidence, r.id.desc())
        .limit(limit * CANDIDATES_PER_ITEM)
    ).mappings()
    candidates = []
    for mapping in rows:
        row = dict(mapping)
        prediction = row["prediction"] if isinstance(row["prediction"], dict) else {}
        row["group"] = ((prediction.get("cues") or [""])[0], row["created_at"].strftime("%Y-%m"))
        candidates.append(row)
    chosen = pick(candidates, limit)
    return [record_out(row) for row in chosen]


def pick(candidates: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """``limit`` of ``candidates`` (least certain first, each with ``text`` and a ``group``: what the model
    found and when), taken round-robin across the groups, repeated texts skipped."""
    groups: OrderedDict[Any, list[dict[str, Any]]] = OrderedDict()
    for row in candidates:
        groups.setdefault(row["group"], []).append(row)
    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(chosen) < limit and any(groups.values()):
        for members in groups.values():  # one from each group per round, least certain first
            while members:
                candidate = members.pop(0)
                text = " ".join(candidate["text"].lower().split())
                if text not in seen:
                    seen.add(text)
                    chosen.append(candidate)
                    break
            if len(chosen) == limit:
                break
    return chosen
