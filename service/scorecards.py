"""Scorecards: store a team's seven-habits self-assessment and set it beside its measured needs-first share.

Validation and scoring are the library's (:func:`vocml.scorecard.score_card`); this module stores the
result (append-only: a later scorecard for the same period is the current one, the earlier stays in
the history) and writes the plain-language line shown when what a team says and what its records show
disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.auth import Principal
from service.db import scorecards, utcnow
from vocml.scorecard import BANDS, HABITS, MAX_LEVEL, band_for, score_card

MAX_TOTAL = MAX_LEVEL * len(HABITS)
HIGH_BANDS = ("doing_well", "want_to_buy")
LOW_SHARE = 0.5
HIGH_SHARE = 0.7


def add_scorecard(
    engine: Engine, team: str, *, period_start: date, scores: Mapping[str, Any], note: str | None, principal: Principal
) -> dict[str, Any]:
    """Validate and store a scorecard for ``team``; return the stored row.

    The caller needs the ``uploader`` role (or ``admin``) and access to ``team``.

    Raises:
        ForbiddenError: the role is too low or the team is outside the token's teams.
        ScorecardError: listing every bad habit (missing, unknown, non-integer, out of range).
    """
    principal.require_role("uploader")
    principal.require_team(team)
    result = score_card(scores)
    row = {
        "team": team,
        "period_start": period_start,
        "scores": result.scores,
        "total": result.total,
        "band": result.band.key,
        "note": (note or "").strip() or None,
        "created_by": principal.name,
        "created_at": utcnow(),
    }
    with engine.begin() as conn:
        new_id = conn.execute(scorecards.insert().values(**row)).inserted_primary_key[0]  # type: ignore[index]
    return scorecard_out({"id": int(new_id), **row})


def list_scorecards(engine: Engine, team: str, principal: Principal) -> list[dict[str, Any]]:
    """A team's scorecards, oldest period first (and, within a period, in the order they were filed)."""
    principal.require_team(team)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(scorecards).where(scorecards.c.team == team).order_by(scorecards.c.period_start, scorecards.c.id)
        ).mappings()
        return [scorecard_out(dict(r)) for r in rows]


def current_per_period(history: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The last scorecard filed for each period start, oldest period first."""
    latest: dict[date, dict[str, Any]] = {}
    for card in history:
        latest[card["period_start"]] = dict(card)
    return [latest[k] for k in sorted(latest)]


def scorecard_out(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row in the API's scorecard shape (with the band's verdict and the habits below the top)."""
    band = band_for(int(row["total"]))
    scores = dict(row["scores"])
    return {
        "id": row["id"],
        "team": row["team"],
        "period_start": row["period_start"],
        "scores": scores,
        "total": row["total"],
        "band": {"key": band.key, "low": band.low, "high": band.high, "verdict": band.verdict},
        "do_more": [h.key for h in HABITS if scores.get(h.key, 0) < MAX_LEVEL],
        "note": row["note"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
    }


@dataclass(frozen=True)
class MeasuredPoint:
    """The measured needs-first share of one period (``share`` is ``None`` without records)."""

    start: date
    share: float | None
    n: int


def measured_at(points: Sequence[MeasuredPoint], day: date) -> MeasuredPoint | None:
    """The period that contains ``day`` (the last one starting on or before it) if it has records."""
    chosen = None
    for point in sorted(points, key=lambda p: p.start):
        if point.start <= day:
            chosen = point
    if chosen is None or chosen.share is None or chosen.n == 0:
        return None
    return chosen


def disagreement(card: Mapping[str, Any], measured: MeasuredPoint | None, *, source_label: str) -> str | None:
    """A plain-language line when a self-score and the measured needs-first share point different ways.

    Args:
        card: a scorecard as returned by :func:`scorecard_out`.
        measured: the share measured in the scorecard's period, or ``None`` if there are no records.
        source_label: what was measured, e.g. ``"customers' comments"`` or ``"all records"``.

    Returns:
        The sentence, or ``None`` when they agree (or there is nothing to compare).
    """
    if measured is None or measured.share is None:
        return None
    band = band_for(int(card["total"]))
    pct = f"{measured.share:.0%}"
    when = measured.start.isoformat()
    if band.key in HIGH_BANDS and measured.share < LOW_SHARE:
        return (
            f"Says and does disagree: the team scored itself {card['total']}/{MAX_TOTAL} "
            f"(\u201c{band.verdict}\u201d) for {card['period_start']}, but only {pct} of {source_label} "
            f"in the period from {when} show needs-first selling (n={measured.n})."
        )
    if band.key == BANDS[0].key and measured.share >= HIGH_SHARE:
        return (
            f"Says and does disagree: the team scored itself only {card['total']}/{MAX_TOTAL} for "
            f"{card['period_start']}, yet {pct} of {source_label} in the period from {when} show needs-first "
            f"selling (n={measured.n}); the self-assessment may be too harsh."
        )
    return None
