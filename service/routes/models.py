"""``/v1/models``: the model registry, retrains, promotion and rollback (admins; team-limited tokens
see and act on the versions of their own teams only)."""

from __future__ import annotations

import shutil
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from service.db import model_versions, utcnow
from service.deps import AdminDep, EngineDep
from service.errors import ConflictError
from service.reclassify import promote, rollback, runs_of
from service.registry import EVERY_TEAM, ModelSet, assignments, get_version, list_versions, teams_of
from service.retrain import Weights, queue_retrain, require_admin_of
from service.schemas import ModelListOut, ModelVersionOut, PromotedOut, RetrainIn

router = APIRouter(prefix="/v1", tags=["models"])

VersionPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9.+_-]+$")]


def _models(request: Request) -> ModelSet:
    models: ModelSet = request.app.state.models
    return models


def version_out(row: dict[str, Any], assigned: dict[str, str], shipped: str | None, runs: Any = ()) -> dict[str, Any]:
    """A registry row as the API shows it (``serving``: where it labels records now)."""
    teams = teams_of(str(row["scope"]))
    version = row["version"]
    serving = sorted(t for t, v in assigned.items() if v == version)
    if version == shipped and EVERY_TEAM not in assigned:
        serving = [EVERY_TEAM, *serving]
    if teams is not None:
        serving = [t for t in serving if t in teams]
    out = {k: row.get(k) for k in ModelVersionOut.model_fields if k not in ("teams", "serving", "runs")}
    return {**out, "teams": None if teams is None else sorted(teams), "serving": serving, "runs": list(runs)}


@router.get("/models", summary="Model versions", response_model=ModelListOut)
def list_models(request: Request, engine: EngineDep, principal: AdminDep) -> dict[str, Any]:
    """Every version the token may see (the shipped one, and retrains of its teams), newest first."""
    shipped = _models(request).shipped.version
    with engine.connect() as conn:
        assigned = assignments(conn)
        return {"items": [version_out(r, assigned, shipped) for r in list_versions(conn, principal)]}


@router.post("/models", summary="Start a retrain", response_model=ModelVersionOut, status_code=202)
def start_retrain(body: RetrainIn, request: Request, engine: EngineDep, principal: AdminDep) -> JSONResponse:
    """Queue a new version trained on the shipped data plus the teams' reviewed and audited records;
    poll ``GET /v1/models/{version}`` for its stage and progress, then its evaluation."""
    models = _models(request)
    base = models.version_for(body.teams[0] if body.teams else None)
    row = queue_retrain(
        engine,
        principal,
        teams=body.teams,
        weights=Weights(review=body.weights.review, audit=body.weights.audit),
        base_version=base,
    )
    request.app.state.model_worker.notify()
    with engine.connect() as conn:
        out = version_out(get_version(conn, row["version"], principal), assignments(conn), models.shipped.version)
    return JSONResponse(ModelVersionOut.model_validate(out).model_dump(mode="json"), status_code=202)


@router.get("/models/{version}", summary="One version", response_model=ModelVersionOut)
def get_model(version: VersionPath, request: Request, engine: EngineDep, principal: AdminDep) -> dict[str, Any]:
    """Stage and progress while it trains; then its evaluation beside the current model's (on the teams'
    held-out labelled records and the ``data/`` development set); its re-classification runs."""
    with engine.connect() as conn:
        row = get_version(conn, version, principal)
        return version_out(row, assignments(conn), _models(request).shipped.version, runs_of(conn, version))


@router.post("/models/{version}/promote", summary="Promote a version", response_model=PromotedOut)
def promote_model(version: VersionPath, request: Request, engine: EngineDep, principal: AdminDep) -> dict[str, Any]:
    """Its teams' new records are labelled by it from now on (every worker within a few seconds) and
    the stored ones are re-labelled in the background (``runs`` on the version shows the progress)."""
    models = _models(request)
    result = promote(engine, version, principal, shipped=models.shipped.version)
    models.refresh()
    request.app.state.model_worker.notify()
    return {"version": version, "runs": [result["run"]]}


@router.post("/models/{version}/rollback", summary="Roll a promotion back", response_model=PromotedOut)
def rollback_model(version: VersionPath, request: Request, engine: EngineDep, principal: AdminDep) -> dict[str, Any]:
    """Its teams go back to the versions they had before it was promoted; stored records follow."""
    models = _models(request)
    result = rollback(engine, version, principal, shipped=models.shipped.version)
    models.refresh()
    request.app.state.model_worker.notify()
    return {"version": version, "runs": result["runs"]}


@router.post("/models/{version}/discard", summary="Throw a trained version away", response_model=ModelVersionOut)
def discard_model(version: VersionPath, request: Request, engine: EngineDep, principal: AdminDep) -> dict[str, Any]:
    """A trained version never promoted is marked discarded and its bundle deleted."""
    settings = request.app.state.settings
    with engine.begin() as conn:
        row = get_version(conn, version, principal)
        require_admin_of(principal, str(row["scope"]))
        if row["status"] not in ("trained", "failed"):
            raise ConflictError(
                f"model {version} is {row['status']}; only a trained (or failed) version never promoted can be "
                "discarded (roll a promoted one back instead)"
            )
        conn.execute(
            model_versions.update()
            .where(model_versions.c.version == version)
            .values(status="discarded", finished_at=row["finished_at"] or utcnow())
        )
        row = get_version(conn, version, principal)
        out = version_out(row, assignments(conn), _models(request).shipped.version)
    shutil.rmtree(settings.models_dir / version, ignore_errors=True)
    return out
