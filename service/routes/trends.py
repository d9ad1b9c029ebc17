"""``GET /v1/trends`` and ``GET /v1/teams``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from service.deps import EngineDep, SettingsDep, ViewerDep
from service.schemas import DayQ, Source, TeamsOut, TrendsOut
from service.trends import read_audit_inputs, read_counts, team_summaries, trend_points
from vocml.errors import ConfigError

router = APIRouter(prefix="/v1", tags=["trends"])

Period = Literal["week", "month"]


@router.get("/trends", summary="Needs-first share of a team per week or month", response_model=TrendsOut)
def trends(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    principal: ViewerDep,
    team: Annotated[str, Query(min_length=1, max_length=200)],
    period: Period = "week",
    source: Source | None = None,
    start: DayQ = None,
    end: DayQ = None,
) -> dict[str, object]:
    """Counts, share with Wilson interval, share adjusted for the model's errors, and the say-do gap."""
    principal.require_team(team)
    if start is not None and end is not None and start > end:
        raise ConfigError("start is after end; swap them")
    with engine.connect() as conn:
        all_sources = read_counts(conn, teams=[team], start=start, end=end)
        audit = read_audit_inputs(conn, teams=[team], period=period, source=source, start=start, end=end)
    rows = all_sources if source is None else [r for r in all_sources if r[1] == source]
    error_model = request.app.state.error_model
    points = trend_points(
        rows,
        period=period,
        error_model=error_model,
        draws=settings.bootstrap_draws,
        say_do_rows=all_sources,
        audit=audit,
    )
    return {"team": team, "period": period, "source": source, "adjusted": error_model is not None, "points": points}


@router.get("/teams", summary="Every visible team with its latest share and change", response_model=TeamsOut)
def teams(engine: EngineDep, principal: ViewerDep, period: Period = "week") -> dict[str, object]:
    """Record count, latest-period share, change from the previous period, two-proportion test at p < 0.05."""
    with engine.connect() as conn:
        return {"period": period, "teams": team_summaries(conn, principal, period=period)}
