"""``POST /v1/classify``: classify 1 to 1,000 texts; stores nothing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.coalesce import Coalescer
from service.deps import ClassifierDep, SettingsDep, UploaderDep
from service.errors import RequestDataError
from service.registry import ModelSet
from service.schemas import ClassifyIn, ClassifyOut
from vocml.data import Record, validate_row
from vocml.errors import DataError
from vocml.model import Classifier, Prediction

router = APIRouter(prefix="/v1", tags=["classify"])

MAX_BODY_BYTES = 2 * 1024 * 1024


@router.post("/classify", summary="Classify texts", response_model=ClassifyOut, max_body_size=MAX_BODY_BYTES)
async def classify(
    body: ClassifyIn, request: Request, classifier: ClassifierDep, settings: SettingsDep, principal: UploaderDep
) -> JSONResponse:
    """One result per item, in order, with the library's prediction fields.

    ``async`` on purpose: the model runs in a worker thread through :class:`service.coalesce.Coalescer`,
    which classifies the texts of concurrent requests in one call.
    """
    items: list[Record] = []
    errors: list[dict[str, object]] = []
    for i, item in enumerate(body.items):
        try:
            items.append(validate_row(item.model_dump(), line=i, max_chars=settings.max_chars))
        except DataError as e:
            errors.append({"field": f"items.{i}.{e.field}", "message": e.detail, "fix": e.detail.split("; ")[-1]})
    if errors:
        raise RequestDataError(f"{len(errors)} item(s) are invalid; nothing was classified", errors=errors)
    for rec in items:
        if rec.team:
            principal.require_team(rec.team)
    models: ModelSet | None = getattr(request.app.state, "models", None)
    groups: dict[int, tuple[Classifier, list[int]]] = {}
    by_team: dict[str, str | None] = {}
    for i, rec in enumerate(items):
        # each item is labelled by the model serving its team (a dependency override in tests: that one)
        model = models.for_team(rec.team) if models is not None and classifier is models.shipped else classifier
        groups.setdefault(id(model), (model, []))[1].append(i)
        if rec.team:
            by_team[rec.team] = model.version
    coalescers: dict[int, Coalescer] = request.app.state.coalescers
    found: list[Prediction | None] = [None] * len(items)
    for key, (model, positions) in groups.items():
        coalescer = coalescers.get(key)
        if coalescer is None or coalescer.classifier is not model:
            coalescer = coalescers[key] = Coalescer(model)
        for i, pred in zip(positions, await coalescer.classify([items[i] for i in positions]), strict=True):
            found[i] = pred
    predictions = [p for p in found if p is not None]
    use_set = models is not None and classifier is models.shipped
    default_version = models.version_for(None) if models is not None and use_set else classifier.version
    request.app.state.metrics.add_classified(len(predictions))
    # Returned as a response so FastAPI does not re-validate what the library built (``ClassifyOut``
    # documents it, and tests check the two agree).
    return JSONResponse(
        {
            "model": {"version": default_version, "by_team": by_team},
            "results": [p.to_dict() for p in predictions],
        }
    )
