"""Dependencies: the classifier, the engine, settings and the calling principal (``Annotated`` aliases).

The trivial ones are ``async`` so FastAPI does not hop to a worker thread for each of them; only
:func:`get_principal`, which queries the database, runs in the threadpool.

Authentication accepts ``Authorization: Bearer <token>`` or the ``vocml_session`` cookie set by
``POST /v1/session``, so dashboard pages can use the same role dependencies as the API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from service.auth import Principal, authenticate_session, authenticate_token
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


def get_principal(request: Request, engine: Annotated[Engine, Depends(get_engine)]) -> Principal:
    """The caller, from a bearer token or else the session cookie; :class:`AuthError` without either."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthError("the Authorization header must be 'Bearer <token>'")
        principal = authenticate_token(engine, secret.strip())
    else:
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id:
            raise AuthError("no token: send 'Authorization: Bearer <token>' or sign in to the dashboard")
        principal = authenticate_session(engine, session_id)
    request.state.principal = principal
    return principal


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
