"""``/v1/teams/{team}/scorecards``: file and list a team's seven-habits self-assessments (issue 5)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from service import scorecards
from service.deps import EngineDep, UploaderDep, ViewerDep
from service.schemas import DAY_PATTERN, FIRST_DAY, LAST_DAY, CleanStr, UtcDatetime
from vocml.scorecard import HABIT_KEYS, rubric

router = APIRouter(tags=["scorecards"])

TeamPath = Path(min_length=1, max_length=200, description="the team's name")


class ScorecardIn(BaseModel):
    """A scorecard: every habit scored 0-4 (see ``GET /v1/scorecards/rubric``)."""

    model_config = ConfigDict(extra="forbid")
    period_start: date = Field(
        ge=FIRST_DAY,
        le=LAST_DAY,
        description="first day of the period the scorecard is for, YYYY-MM-DD",
        json_schema_extra={"pattern": DAY_PATTERN},
    )
    scores: dict[str, Any] = Field(
        description="habit key -> whole number 0-4, all seven habits",
        json_schema_extra={
            "required": list(HABIT_KEYS),
            "properties": {key: {"type": "integer", "minimum": 0, "maximum": 4} for key in HABIT_KEYS},
            "additionalProperties": False,
        },
    )
    note: CleanStr | None = Field(default=None, max_length=2000)


class BandOut(BaseModel):
    key: str
    low: int
    high: int
    verdict: str


class ScorecardOut(BaseModel):
    id: int
    team: str
    period_start: date
    scores: dict[str, int]
    total: int
    band: BandOut
    do_more: list[str] = Field(description="habits scored below 4: where to do more")
    note: str | None
    created_by: str
    created_at: UtcDatetime


class ScorecardsOut(BaseModel):
    team: str
    scorecards: list[ScorecardOut]


class HabitOut(BaseModel):
    key: str
    title: str
    levels: list[str]


class RubricOut(BaseModel):
    habits: list[HabitOut]
    bands: list[BandOut]


@router.post(
    "/v1/teams/{team:path}/scorecards", status_code=201, response_model=ScorecardOut, summary="File a scorecard"
)
def create_scorecard(body: ScorecardIn, principal: UploaderDep, engine: EngineDep, team: str = TeamPath) -> Any:
    """Store a team's self-assessment (uploader or admin for that team); 422 lists each bad habit."""
    return scorecards.add_scorecard(
        engine, team, period_start=body.period_start, scores=body.scores, note=body.note, principal=principal
    )


@router.get("/v1/teams/{team:path}/scorecards", response_model=ScorecardsOut, summary="A team's scorecard history")
def get_scorecards(principal: ViewerDep, engine: EngineDep, team: str = TeamPath) -> Any:
    """Every scorecard filed for the team, oldest period first."""
    return {"team": team, "scorecards": scorecards.list_scorecards(engine, team, principal)}


@router.get("/v1/scorecards/rubric", response_model=RubricOut, summary="The seven habits and the bands")
def get_rubric(principal: ViewerDep) -> Any:
    """The habits with their level descriptions 0-4, and the bands of totals."""
    return rubric()
