"""Dashboard sessions: ``POST /v1/session`` exchanges a token for the ``vocml_session`` cookie;
``DELETE /v1/session`` signs out; ``GET /v1/me`` says who the caller is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from service.auth import authenticate_token, create_session, delete_session
from service.deps import SESSION_COOKIE, EngineDep, PrincipalDep, SettingsDep
from service.schemas import SessionIn, WhoAmIOut

router = APIRouter(prefix="/v1", tags=["session"])


def _who(principal: Any) -> dict[str, Any]:
    return {
        "name": principal.name,
        "role": principal.role,
        "teams": None if principal.teams is None else sorted(principal.teams),
    }


@router.post("/session", summary="Sign in with a token (sets the session cookie)", response_model=WhoAmIOut)
def sign_in(body: SessionIn, response: Response, engine: EngineDep, settings: SettingsDep) -> dict[str, Any]:
    """Check the token and set an HttpOnly ``vocml_session`` cookie holding an opaque session id."""
    principal = authenticate_token(engine, body.token.strip())
    session_id = create_session(engine, principal, settings.session_ttl_seconds)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return _who(principal)


@router.delete("/session", summary="Sign out (ends the session)", status_code=204)
def sign_out(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    """Delete the session and its cookie (no error if there was none)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        delete_session(engine, session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure)
    return response


@router.get("/me", summary="The caller's token name, role and teams", response_model=WhoAmIOut)
def me(principal: PrincipalDep) -> dict[str, Any]:
    """Who is signed in."""
    return _who(principal)
