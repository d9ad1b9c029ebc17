"""The one place that knows HTTP for errors: every failure becomes ``application/problem+json`` (RFC 9457).

A problem has ``type``, ``title``, ``status``, ``detail`` and, where there is something to fix, ``errors``:
a list of ``{"field", "message", "fix"}`` (plus ``line`` for data rows). The dashboard can render
problems as HTML by setting ``app.state.problem_html`` to ``callable(request, problem) -> Response``;
it is used for non-API requests that accept ``text/html``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from service.db import error_reason
from service.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    RequestDataError,
    ServiceUnavailableError,
    UnsupportedMediaError,
)
from vocml.errors import ConfigError, DataError, ModelArtifactError, ScorecardError, VocmlError

log = logging.getLogger("vocml.service")

PROBLEM_JSON = "application/problem+json"

# Most specific class first: the first match wins.
STATUS: list[tuple[type[VocmlError], int, str]] = [
    (AuthError, 401, "Unauthorized"),
    (ForbiddenError, 403, "Forbidden"),
    (NotFoundError, 404, "Not found"),
    (ConflictError, 409, "Conflict"),
    (PayloadTooLargeError, 413, "Content too large"),
    (UnsupportedMediaError, 415, "Unsupported media type"),
    (DataError, 422, "Invalid data"),
    (ScorecardError, 422, "Invalid scorecard"),
    (ConfigError, 422, "Invalid parameter"),
    (ModelArtifactError, 503, "Model unavailable"),
    (ServiceUnavailableError, 503, "Service unavailable"),
]

FIXES = {
    "missing": "add this field",
    "extra_forbidden": "remove this field; it is not part of the request",
    "string_too_short": "send a non-empty value",
    "string_too_long": "shorten the value",
    "too_short": "send at least one item",
    "too_long": "send fewer items (split the request)",
    "json_invalid": "send a valid JSON body",
    "literal_error": "use one of the allowed values",
    "enum": "use one of the allowed values",
    "int_parsing": "send a whole number",
    "date_from_datetime_parsing": "write the date like 2026-03-31",
    "date_parsing": "write the date like 2026-03-31",
    "bool_parsing": "send true or false",
    "greater_than_equal": "send a larger value",
    "less_than_equal": "send a smaller value",
}


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "example": "urn:vocml:problem:validation_error"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "message": {"type": "string"},
                    "fix": {"type": "string"},
                    "line": {"type": "integer"},
                },
            },
        },
    },
}

# Every status a route can answer with besides its success, each an RFC 9457 problem (for the OpenAPI).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
    for status, description in (
        (400, "The request could not be read"),
        (401, "No valid token or session"),
        (403, "The token's role or teams do not allow this, or a cross-site request with the session cookie"),
        (404, "Not found, or not visible to this token"),
        (405, "Method not allowed"),
        (409, "The resource's state does not allow this now (the detail says what would)"),
        (413, "The request body is over the limit"),
        (415, "Wrong content type"),
        (422, "Invalid request or data: each error names the field and the fix"),
        (500, "Internal error"),
        (503, "The model or the database is unavailable"),
    )
}


def status_of(exc: VocmlError) -> tuple[int, str]:
    """The HTTP status and title for a library or service error."""
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            return status, title
    return 500, "Internal error"


def problem(
    status: int, title: str, detail: str, *, code: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A problem document."""
    body: dict[str, Any] = {"type": f"urn:vocml:problem:{code}", "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return body


def respond(request: Request, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    """Render a problem as JSON, or as HTML for dashboard pages when a renderer is installed."""
    renderer: Callable[[Request, dict[str, Any]], Response] | None = getattr(request.app.state, "problem_html", None)
    if (
        renderer is not None
        and not request.url.path.startswith("/v1/")
        and "text/html" in request.headers.get("accept", "")
    ):
        return renderer(request, body)
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] or parts
    return ".".join(parts)


async def vocml_error_handler(request: Request, exc: Exception) -> Response:
    """Map any :class:`VocmlError` to its status (the table above)."""
    assert isinstance(exc, VocmlError)  # noqa: S101 - registered for VocmlError only
    status, title = status_of(exc)
    errors: list[dict[str, Any]] | None = None
    detail = str(exc)
    if isinstance(exc, RequestDataError):
        errors = list(exc.errors)
    elif isinstance(exc, DataError):
        entry: dict[str, Any] = {"field": exc.field, "message": exc.detail}
        if exc.line is not None:
            entry["line"] = exc.line
        errors = [entry]
    elif isinstance(exc, ScorecardError):
        errors = list(exc.errors)
    headers = {"WWW-Authenticate": 'Bearer realm="vocml"'} if status == 401 else None
    if status >= 500:
        log.error("request failed", extra={"event": "error", "code": exc.code, "path": request.url.path})
    return respond(request, problem(status, title, detail, code=exc.code, errors=errors), headers)


# API paths that take no token; every other /v1/ path (and /metrics) authenticates before validating.
OPEN_API_PATHS = frozenset({"/v1/session"})


def _needs_token(request: Request) -> bool:
    path = request.url.path
    return (path.startswith("/v1/") or path == "/metrics") and path not in OPEN_API_PATHS


async def validation_handler(request: Request, exc: Exception) -> Response:
    """Request validation errors: one entry per field, with the fix.

    FastAPI parses the body and query before running the token dependency; a request without a
    valid token gets its 401 first, so an anonymous caller learns nothing about the route's fields.
    """
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for it only
    engine = getattr(request.app.state, "engine", None)
    if engine is not None and _needs_token(request):
        from service.deps import resolve_principal

        try:
            await run_in_threadpool(resolve_principal, request, engine)
        except AuthError as auth_error:
            return await vocml_error_handler(request, auth_error)
    errors = []
    for err in exc.errors():
        kind = str(err.get("type", ""))
        fix = FIXES.get(kind, "correct the value")
        ctx = err.get("ctx") or {}
        if kind == "string_too_long" and "max_length" in ctx:
            fix = f"shorten it to at most {ctx['max_length']} characters"
        elif kind == "too_long" and "max_length" in ctx:
            fix = f"send at most {ctx['max_length']} items; split the request"
        elif kind in ("literal_error", "enum") and "expected" in ctx:
            fix = f"use one of {ctx['expected']}"
        errors.append({"field": _field(err.get("loc", ())), "message": str(err.get("msg", "")), "fix": fix})
    fields = ", ".join(e["field"] for e in errors[:5])
    detail = f"the request has {len(errors)} invalid field(s): {fields}"
    return respond(request, problem(422, "Invalid request", detail, code="validation_error", errors=errors))


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Framework HTTP errors (unknown route, wrong method, body over a route's limit) as problems."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it only
    titles = {404: "Not found", 405: "Method not allowed", 413: "Content too large", 400: "Bad request"}
    detail = str(exc.detail) if exc.detail else titles.get(exc.status_code, "HTTP error")
    if exc.status_code == 404 and exc.detail == "Not Found":
        detail = f"no route {request.url.path}; see /docs for the API"
    if exc.status_code == 413:
        detail = "the request body is over this endpoint's size limit; send less data per request"
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.status_code, "http_error")
    body = problem(exc.status_code, titles.get(exc.status_code, "HTTP error"), detail, code=code)
    return respond(request, body, dict(exc.headers) if exc.headers else None)


async def database_error_handler(request: Request, exc: Exception) -> Response:
    """The database is unreachable, read-only or out of space: a 503 that says so, not a bare 500."""
    assert isinstance(exc, sa_exc.OperationalError)  # noqa: S101 - registered for it only
    reason = error_reason(exc)
    log.error("database error", extra={"event": "database_error", "path": request.url.path, "error": reason})
    detail = f"the database cannot do this now ({reason}); nothing was changed. Check the database and retry"
    return respond(request, problem(503, "Database unavailable", detail, code="database_unavailable"))


async def unexpected_handler(request: Request, exc: Exception) -> Response:
    """Anything else: a 500 problem without internals; the traceback goes to the log."""
    log.exception("unhandled error", extra={"event": "error", "path": request.url.path})
    return respond(request, problem(500, "Internal error", "something went wrong on our side", code="internal_error"))


class BodyLimitMiddleware:
    """Answer 413 as a problem when ``Content-Length`` is over the limit, before reading the body.

    Uploads (``/v1/batches``) enforce their own, larger limit while streaming. Bodies without
    ``Content-Length`` are still capped by each route's ``max_body_size``.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, exempt: tuple[str, ...] = ("/v1/batches",)) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.exempt:
            for name, value in scope.get("headers", []):
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    body = problem(
                        413,
                        "Content too large",
                        f"the request body is over the {self.max_bytes:,}-byte limit; send fewer items per request",
                        code="payload_too_large",
                    )
                    response = JSONResponse(body, status_code=413, media_type=PROBLEM_JSON)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app`` (called once by ``create_app``)."""
    app.add_exception_handler(VocmlError, vocml_error_handler)
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(sa_exc.OperationalError, database_error_handler)
    app.add_exception_handler(Exception, unexpected_handler)
