"""Dependencies: the classifier, the engine, settings and the calling principal (``Annotated`` aliases).

The trivial ones are ``async`` so FastAPI does not hop to a worker thread for each of them;
:func:`get_principal` queries the database in the threadpool only when its token cache misses.

Authentication accepts ``Authorization: Bearer <token>`` or the ``vocml_session`` cookie set by
``POST /v1/session``, so dashboard pages can use the same role dependencies as the API.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from service.auth import Principal, TokenCache, authenticate_session, authenticate_token
from service.errors import AuthError, ServiceUnavailableError
from service.settings import Settings
from vocml.model import Classifier

SESSION_COOKIE = "vocml_session"


async def get_settings_dep(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_classifier(request: Request) -> Classifier:
    """The classifier loaded at start."""
    classifier: Classifier | None = getattr(request.app.state, "classifier", None)
    if classifier is None:
        raise ServiceUnavailableError("the model is not loaded yet; retry in a few seconds")
    return classifier


async def get_engine(request: Request) -> Engine:
    """The database engine."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ServiceUnavailableError("the database is not ready yet; retry in a few seconds")
    return engine


def resolve_principal(request: Request, engine: Engine) -> Principal:
    """The caller, from a bearer token or else the session cookie; :class:`AuthError` without either.

    Blocking (it may query the database): call it from sync code; routes use :func:`get_principal`.
    """
    header = request.headers.get("authorization")
    if header:
        secret = _bearer_secret(header)
        cache: TokenCache = request.app.state.token_cache
        now = time.monotonic()
        principal = cache.get(secret, now)
        if principal is None:
            principal = authenticate_token(engine, secret)
            cache.put(secret, principal, now)
    else:
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id:
            raise AuthError("no token: send 'Authorization: Bearer <token>' or sign in to the dashboard")
        principal = authenticate_session(engine, session_id)
    request.state.principal = principal
    return principal


async def get_principal(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> Principal:
    """The caller (see :func:`resolve_principal`).

    A bearer token looked up in the last ``auth_cache_seconds`` comes from this process's
    :class:`~service.auth.TokenCache` without leaving the event loop; any database lookup runs in
    the threadpool.
    """
    header = request.headers.get("authorization")
    if header:
        principal = request.app.state.token_cache.get(_bearer_secret(header), time.monotonic())
        if principal is not None:
            request.state.principal = principal
            return principal
    return await run_in_threadpool(resolve_principal, request, engine)


def _bearer_secret(header: str) -> str:
    scheme, _, secret = header.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise AuthError("the Authorization header must be 'Bearer <token>'")
    return secret


def require(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that returns the principal if its role is at least ``role``."""

    async def dependency(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        principal.require_role(role)
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency


ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
ViewerDep = Annotated[Principal, Depends(require("viewer"))]
UploaderDep = Annotated[Principal, Depends(require("uploader"))]
AdminDep = Annotated[Principal, Depends(require("admin"))]
