"""Request (``…In``) and response (``…Out``) models of the REST API."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from vocml.cues import CUE_NAMES
from vocml.data import CONTROL_CLASS, MAX_YEAR, MIN_YEAR, text_problem

# Bounds the stores and the date arithmetic handle (a week after 9999-12-31 does not exist; PostgreSQL's
# integer ids end at 2**31 - 1); values outside them are a 422 naming the parameter.
FIRST_DAY, LAST_DAY = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)  # the data contract's years
MAX_OFFSET = 1_000_000_000
RecordId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a record's id")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


def _clean(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# What text_problem refuses, said in the OpenAPI (JSON Schema cannot name lone surrogates: JSON text never has them)
CLEAN_PATTERN = f"^[^{CONTROL_CLASS}]*$"
TEXT_PATTERN = f"^(?=[\\s\\S]*\\S)[^{CONTROL_CLASS}]*$"  # and at least one non-space character
TEAM_PATTERN = f"^(?=[\\s\\S]*\\S)[^,/{CONTROL_CLASS}]*$"
DAY_PATTERN = "^(19\\d\\d|2[01]\\d\\d)-(0[1-9]|1[0-2])-(0[1-9]|1\\d|2[0-8])$"  # the range the stores take
DayQ = Annotated[
    date | None,
    Query(
        ge=FIRST_DAY,
        le=LAST_DAY,
        description="YYYY-MM-DD, 1900-01-01 to 2199-12-31",
        json_schema_extra={"pattern": DAY_PATTERN},
    ),
]
CleanStr = Annotated[str, AfterValidator(_clean), Field(json_schema_extra={"pattern": CLEAN_PATTERN})]
TeamName = Annotated[
    str,
    Field(min_length=1, max_length=200, json_schema_extra={"pattern": TEAM_PATTERN}),
    AfterValidator(_clean),
]


def _utc_iso(value: datetime) -> str:
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).isoformat()


# The database keeps naive UTC; the API says so with an explicit offset (RFC 3339 date-time).
UtcDatetime = Annotated[datetime, PlainSerializer(_utc_iso, return_type=str, when_used="json")]

CueName = enum.Enum("CueName", {name: name for name in CUE_NAMES}, type=str)  # type: ignore[misc]
"""A behaviour (cue) of the registry, by name."""

Label = Literal["pitch_first", "needs_first", "no_signal"]
Source = Literal["call_note", "customer_comment"]
Role = Literal["viewer", "uploader", "admin"]
BatchStatus = Literal["queued", "running", "done", "failed"]


class ClassifyItemIn(BaseModel):
    """One text to classify."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(
        description="the text; empty or over the length limit is rejected, never truncated",
        json_schema_extra={"pattern": TEXT_PATTERN, "maxLength": 20_000},
    )
    source: Source | None = None
    id: CleanStr | None = Field(default=None, max_length=200)
    team: TeamName | None = Field(
        default=None,
        description="labelled by the model version serving this team (a team-limited token: one of its teams)",
    )


class ClassifyIn(BaseModel):
    """1 to 1,000 texts."""

    model_config = ConfigDict(extra="forbid")
    items: list[ClassifyItemIn] = Field(min_length=1, max_length=1000)


class EvidenceOut(BaseModel):
    phrase: str
    start: int
    end: int
    weight: float


class RecordPredictionOut(BaseModel):
    """A stored record's prediction: the library's prediction fields but its ``id``."""

    label: str
    confidence: float
    scores: dict[str, float]
    uncertain: bool
    cues: list[str]
    evidence: list[EvidenceOut]


class PredictionOut(RecordPredictionOut):
    """Exactly the library's prediction fields."""

    id: str | None


class ModelOut(BaseModel):
    version: str | None = Field(description="the version that labels texts without a team")
    by_team: dict[str, str | None] = Field(
        default_factory=dict, description="each team named in the request -> the version that labelled its texts"
    )


class ClassifyOut(BaseModel):
    model: ModelOut
    results: list[PredictionOut]


class BatchCreatedOut(BaseModel):
    """The queued batch (202), or the batch the same file went into before (200: ``created_at`` says when)."""

    id: str
    status: BatchStatus
    filename: str | None = None
    created_at: UtcDatetime | None = None
    rows_expected: int | None = None


class BatchErrorOut(BaseModel):
    line: int | None
    field: str | None
    message: str


class BatchOut(BaseModel):
    """A batch's progress; ``errors`` is one page of rejected rows (``errors_offset``, ``errors_limit``),
    ``duplicates`` one page of rows skipped because their id was already stored for their team."""

    id: str
    status: BatchStatus
    filename: str | None
    rows_total: int
    rows_stored: int
    rows_rejected: int
    rows_duplicate: int
    rows_expected: int | None = None  # data lines counted at upload (a CSV field over several lines counts more)
    created_at: UtcDatetime
    finished_at: UtcDatetime | None
    error: str | None
    errors: list[BatchErrorOut]
    errors_total: int
    errors_next_offset: int | None
    duplicates: list[BatchErrorOut] = []
    duplicates_next_offset: int | None = None


class SayDoOut(BaseModel):
    """Needs-first share in call notes minus the share in customer comments, with a 95% interval."""

    call_note_share: float | None
    customer_comment_share: float | None
    gap: float | None
    ci_low: float | None
    ci_high: float | None
    adjustment: Literal["ppi", "none"] = Field(
        default="none",
        description="'ppi': each source's share also estimated from its own part of the period's audit "
        "(at least two labels each), the gap and interval in the adjusted_ fields",
    )
    adjusted_gap: float | None = None
    adjusted_ci_low: float | None = None
    adjusted_ci_high: float | None = None


class TrendPointOut(BaseModel):
    start: date
    n: int
    counts: dict[str, int]
    reviewed: int
    needs_first_share: float | None
    ci_low: float | None
    ci_high: float | None
    adjusted_share: float | None
    adjusted_ci_low: float | None
    adjusted_ci_high: float | None
    adjustment: Literal["ppi", "card", "none"] = Field(
        description="ppi: from the period's audit labels; card: the model card's confusion matrix; none"
    )
    audit_n: int = Field(description="audit records labelled in this period")
    say_do: SayDoOut


class TrendsOut(BaseModel):
    team: str
    period: Literal["week", "month"]
    source: Source | None
    adjusted: bool = Field(description="false when the model card has no confusion matrix to adjust with")
    points: list[TrendPointOut]


class TeamOut(BaseModel):
    team: str
    records: int
    latest_period: date | None
    latest_share: float | None
    previous_share: float | None
    change: float | None
    p_value: float | None
    significant: bool


class TeamsOut(BaseModel):
    period: Literal["week", "month"]
    teams: list[TeamOut]


class ReviewOut(BaseModel):
    label: Label
    reviewed_by: str
    reviewed_at: UtcDatetime


class RecordOut(BaseModel):
    id: int
    external_id: str | None
    team: str
    source: str | None
    rep: str | None
    created_at: UtcDatetime
    text: str
    label: str = Field(description="the reviewed label if there is one, else the model's")
    prediction: RecordPredictionOut
    review: ReviewOut | None
    batch_id: str | None
    model_version: str | None = Field(default=None, description="the model that labelled it (null: stored before 0.3)")


class RecordsPageOut(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Label
    audit: bool = Field(
        default=False,
        description="true: the label answers the record's blind audit (kept apart; the record's label is unchanged)",
    )


class AuditItemOut(BaseModel):
    """An audit record to label, blind: no model label, no scores."""

    id: int
    text: str
    source: str | None
    created_at: UtcDatetime
    period_start: date


class AuditOut(BaseModel):
    items: list[AuditItemOut]


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: CleanStr = Field(min_length=1, max_length=500)


class WhoAmIOut(BaseModel):
    name: str
    role: Role
    teams: list[str] | None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    teams: list[TeamName] | None = Field(
        default=None, description="team names (no commas or slashes); none for every team"
    )
    name: CleanStr | None = Field(default=None, max_length=200)


class TokenOut(BaseModel):
    id: int
    name: str
    role: Role
    teams: list[str] | None
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="shown once; only its hash is stored")


ModelStatus = Literal["shipped", "queued", "training", "trained", "failed", "promoted", "retired", "discarded"]


class RetrainWeights(BaseModel):
    model_config = ConfigDict(extra="forbid")
    review: float = Field(default=2.0, ge=0, le=100, description="training weight of a reviewed correction")
    audit: float = Field(default=2.0, ge=0, le=100, description="training weight of an audit label")


class RetrainIn(BaseModel):
    """A retrain: the shipped recipe plus the reviewed and audited records of ``teams``."""

    model_config = ConfigDict(extra="forbid")
    teams: list[TeamName] | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="the teams the new version will serve (default: the token's teams; every team for an "
        "admin of all teams)",
    )
    weights: RetrainWeights = Field(default_factory=RetrainWeights)


class ReclassifyChunkOut(BaseModel):
    seq: int
    records: int
    changed: int
    stored_at: UtcDatetime


class ReclassifyRunOut(BaseModel):
    id: int
    status: Literal["queued", "running", "done"]
    total: int = Field(description="records to re-label, counted when the run was queued")
    done: int
    changed: int = Field(description="records whose label changed")
    chunks: int
    created_at: UtcDatetime
    finished_at: UtcDatetime | None
    recent_chunks: list[ReclassifyChunkOut]


class ModelVersionOut(BaseModel):
    version: str
    teams: list[str] | None = Field(description="the teams it serves; null: every team")
    status: ModelStatus
    serving: list[str] = Field(description="teams (or '*' for every other team) it labels now")
    base_version: str | None
    stage: str | None
    progress_done: int
    progress_total: int
    params: dict[str, Any] | None
    evaluation: dict[str, Any] | None
    error: str | None
    created_by: str | None
    created_at: UtcDatetime
    finished_at: UtcDatetime | None
    promoted_by: str | None
    promoted_at: UtcDatetime | None
    previous: dict[str, str | None] | None = Field(description="at promotion: team -> the version it replaced")
    runs: list[ReclassifyRunOut] = Field(default_factory=list, description="re-classifications toward it")


class ModelListOut(BaseModel):
    items: list[ModelVersionOut]


class PromotedOut(BaseModel):
    version: str
    runs: list[int] = Field(description="the re-classification runs queued")
