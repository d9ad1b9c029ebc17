"""``GET /healthz`` (no token) and ``GET /metrics`` (Prometheus text)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from service.db import write_problem
from service.deps import AdminDep, EngineDep
from service.errors import ForbiddenError, ServiceUnavailableError
from service.metrics import MetricsShare

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness and readiness: the model and the database")
def healthz(request: Request, engine: EngineDep) -> dict[str, object]:
    """``{"status": "ok", "model": version}`` once the model is loaded and the database takes writes;
    a 503 problem saying what is wrong otherwise (a read-only, deleted or unreachable database)."""
    settings = request.app.state.settings
    problem = write_problem(engine, settings.database_url, request.app.state.db_identity)
    if problem is not None:
        raise ServiceUnavailableError(problem)
    classifier = getattr(request.app.state, "classifier", None)
    return {"status": "ok", "model": classifier.version if classifier is not None else None}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(request: Request, principal: AdminDep) -> PlainTextResponse:
    """Requests by route and status, latency histogram, texts classified, batch rows stored and rejected,
    summed over the server's worker processes (each publishes its counts every few seconds).

    The counts cover every team, so only an admin token for all teams may read them.
    """
    if principal.teams is not None:
        raise ForbiddenError("metrics count every team's rows; read them with an admin token for all teams")
    share: MetricsShare = request.app.state.metrics_share
    return PlainTextResponse(share.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
