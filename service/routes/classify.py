"""``POST /v1/classify``: classify 1 to 1,000 texts; stores nothing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.coalesce import Coalescer
from service.deps import ClassifierDep, SettingsDep, UploaderDep
from service.errors import RequestDataError
from service.schemas import ClassifyIn, ClassifyOut
from vocml.data import Record, validate_row
from vocml.errors import DataError

router = APIRouter(prefix="/v1", tags=["classify"])

MAX_BODY_BYTES = 2 * 1024 * 1024


@router.post("/classify", summary="Classify texts", response_model=ClassifyOut, max_body_size=MAX_BODY_BYTES)
async def classify(
    body: ClassifyIn, request: Request, classifier: ClassifierDep, settings: SettingsDep, _principal: UploaderDep
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
    coalescer = getattr(request.app.state, "coalescer", None)
    if coalescer is None or coalescer.classifier is not classifier:  # e.g. a dependency override in tests
        coalescer = request.app.state.coalescer = Coalescer(classifier)
    predictions = await coalescer.classify(items)
    request.app.state.metrics.add_classified(len(predictions))
    # Returned as a response so FastAPI does not re-validate what the library built (``ClassifyOut``
    # documents it, and tests check the two agree).
    return JSONResponse({"model": {"version": classifier.version}, "results": [p.to_dict() for p in predictions]})
