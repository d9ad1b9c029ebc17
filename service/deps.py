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
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from service.auth import Principal, TokenCache, authenticate_session, authenticate_token
from service.errors import AuthError, ForbiddenError, ServiceUnavailableError
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
        check_same_origin(request)
        principal = authenticate_session(engine, session_id)
    request.state.principal = principal
    return principal


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing request that a browser sent with the session cookie from another origin.

    The cookie is ``SameSite=Lax``, which still lets a page on another port of the same host post a
    form with it; the ``Origin`` header (else ``Referer``) must name this server: the request's own
    scheme, host and port, or ``VOCML_PUBLIC_URL``. Bearer tokens are not sent by browsers on their own
    and are not checked.
    """
    if request.method in SAFE_METHODS:
        return
    claimed = request.headers.get("origin") or request.headers.get("referer")
    expected = {_origin(str(request.base_url)), _origin(request.app.state.settings.public_url)}
    if claimed is None or _origin(claimed) not in expected:
        raise ForbiddenError(
            "this request carries the dashboard's session cookie but comes from another site (its Origin is "
            f"{claimed or 'missing'}); send it from the dashboard itself, or with 'Authorization: Bearer <token>'"
        )


def _origin(url: str) -> str:
    """``scheme://host:port`` of a URL (default ports made explicit); ``""`` for one that does not parse."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return ""
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


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
