"""Admin: ``GET/POST /v1/tokens`` and ``DELETE /v1/tokens/{id}``.

A team-limited admin manages only tokens limited to a subset of its own teams.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from service.auth import Principal, create_token, list_tokens, parse_teams, revoke_token
from service.deps import AdminDep, EngineDep
from service.errors import ForbiddenError, NotFoundError
from service.schemas import TokenCreatedOut, TokenIn, TokenOut

router = APIRouter(prefix="/v1", tags=["tokens"])


def _manageable(principal: Principal, teams: list[str] | None) -> bool:
    if principal.teams is None:
        return True
    return teams is not None and set(teams) <= principal.teams


@router.get("/tokens", summary="Tokens this admin manages (never their secrets)", response_model=list[TokenOut])
def tokens(engine: EngineDep, principal: AdminDep) -> list[dict[str, Any]]:
    """Id, name, role, teams, created and revoked times."""
    with engine.connect() as conn:
        return [t for t in list_tokens(conn) if _manageable(principal, t["teams"])]


@router.post(
    "/tokens", summary="Create a token (its secret is shown once)", status_code=201, response_model=TokenCreatedOut
)
def new_token(body: TokenIn, engine: EngineDep, principal: AdminDep) -> dict[str, Any]:
    """Create a token with a role and optional teams."""
    teams = parse_teams(body.teams) if body.teams is not None else None
    if not _manageable(principal, teams):
        raise ForbiddenError("a team-limited admin can only create tokens for its own teams; list them in 'teams'")
    with engine.begin() as conn:
        created = create_token(conn, role=body.role, teams=teams, name=body.name)
        row = next(t for t in list_tokens(conn) if t["id"] == created.id)
    return {**row, "token": created.token}


@router.delete("/tokens/{token_id}", summary="Revoke a token", status_code=204)
def delete_token(token_id: int, request: Request, engine: EngineDep, principal: AdminDep) -> Response:
    """Revoke a token and end its sessions (at once in this process, within ``auth_cache_seconds`` in others)."""
    with engine.begin() as conn:
        row = next((t for t in list_tokens(conn) if t["id"] == token_id), None)
        if row is None or not _manageable(principal, row["teams"]):
            raise NotFoundError(f"no token {token_id} managed by this admin")
        revoke_token(conn, token_id)
    request.app.state.token_cache.clear()
    return Response(status_code=204)
