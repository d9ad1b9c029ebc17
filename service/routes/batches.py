"""``POST /v1/batches`` (multipart upload, processed in the background) and ``GET /v1/batches/{id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from service.batches import create_batch, get_batch, recent_batches
from service.db import write_problem
from service.deps import EngineDep, SettingsDep, UploaderDep
from service.errors import ServiceUnavailableError
from service.schemas import BatchCreatedOut, BatchOut, Offset
from service.uploads import spool_upload

router = APIRouter(prefix="/v1", tags=["batches"])

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "description": "CSV or JSONL"}},
                }
            }
        },
    }
}


@router.post(
    "/batches",
    summary="Upload a CSV or JSONL file",
    status_code=202,
    response_model=BatchCreatedOut,
    openapi_extra=UPLOAD_BODY,
    responses={200: {"model": BatchCreatedOut, "description": "the same file was uploaded before"}},
)
async def upload_batch(
    request: Request, engine: EngineDep, settings: SettingsDep, principal: UploaderDep
) -> JSONResponse:
    """Spool the file, check its header, queue it: ``202 {"id", "status": "queued"}``.

    The same content uploaded again returns the first batch with status 200.
    """
    from starlette.concurrency import run_in_threadpool

    problem = await run_in_threadpool(write_problem, engine, settings.database_url, request.app.state.db_identity)
    if problem is not None:  # refuse before reading the file: nothing could be stored
        raise ServiceUnavailableError(problem)
    upload = await spool_upload(request, settings.spool_dir, settings.max_upload_bytes)
    batch, created = await run_in_threadpool(create_batch, engine, settings, upload, principal)
    if created:
        request.app.state.worker.notify()
    return JSONResponse(BatchCreatedOut(**batch).model_dump(mode="json"), status_code=202 if created else 200)


@router.get("/batches", summary="Recent batches visible to this token")
def list_batches(
    engine: EngineDep, principal: UploaderDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[dict[str, object]]:
    """Newest first: id, status, file name and counters."""
    return recent_batches(engine, principal, limit=limit)


@router.get("/batches/{batch_id}", summary="Progress, rejected and duplicate rows of a batch", response_model=BatchOut)
def read_batch(
    batch_id: str,
    engine: EngineDep,
    principal: UploaderDep,
    errors_offset: Offset = 0,
    errors_limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    duplicates_offset: Offset = 0,
    duplicates_limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, object]:
    """Status, counters, one page of rejected rows (``errors_offset``, ``errors_limit``) and one page of
    rows skipped because their id was already stored (``duplicates_offset``, ``duplicates_limit``)."""
    return get_batch(
        engine,
        batch_id,
        principal,
        offset=errors_offset,
        limit=errors_limit,
        duplicates_offset=duplicates_offset,
        duplicates_limit=duplicates_limit,
    )
