"""Access control: hashed tokens with a role and optional teams, dashboard sessions, and the principal.

Roles are ordered ``viewer < uploader < admin``. A token with ``teams`` sees and writes only those teams;
``teams`` of ``None`` means every team. Tokens and session ids are random (``secrets.token_urlsafe``)
and stored only as their sha256.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.db import sessions, tokens, utcnow
from service.errors import AuthError, ForbiddenError, NotFoundError
from vocml.data import team_problem
from vocml.errors import ConfigError

ROLES: tuple[str, ...] = ("viewer", "uploader", "admin")
TOKEN_PREFIX = "vocml_"


def hash_secret(secret: str) -> str:
    """Hex sha256 of a token or session id."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_teams(raw: str | Iterable[str] | None) -> list[str] | None:
    """``"EMEA, APAC"`` or a list -> sorted unique team names; empty or ``None`` -> ``None`` (all teams).

    The CLI's ``--teams`` string is split on commas; a list (the API's ``teams``) is taken as it is, so
    a name holding a comma is refused (:class:`ConfigError`) rather than split.
    """
    if raw is None:
        return None
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    teams = sorted({t.strip() for t in items if t and t.strip()})
    for team in teams:
        if len(team) > 200:
            raise ConfigError("a team name is over 200 characters; shorten it")
        if (problem := team_problem(team)) is not None:
            raise ConfigError(f"team {team[:50]!r} {problem}")
    return teams or None


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's id, name, role and teams (``None`` = all teams)."""

    token_id: int
    name: str
    role: str
    teams: frozenset[str] | None

    def has_role(self, role: str) -> bool:
        """True if this principal's role is at least ``role``."""
        return ROLES.index(self.role) >= ROLES.index(role)

    def require_role(self, role: str) -> None:
        """Raise :class:`ForbiddenError` unless the role is at least ``role``."""
        if not self.has_role(role):
            raise ForbiddenError(f"this token has role '{self.role}'; this request needs '{role}' or higher")

    def can_see(self, team: str) -> bool:
        """True if the token may read and write ``team``."""
        return self.teams is None or team in self.teams

    def require_team(self, team: str) -> None:
        """Raise :class:`ForbiddenError` for a team outside the token's teams (without naming other teams)."""
        if not self.can_see(team):
            raise ForbiddenError("this token is not allowed for the requested team; ask an admin for access")

    @property
    def scope(self) -> str:
        """A canonical string of the token's teams (``*`` for all), used to scope batches."""
        return "*" if self.teams is None else ",".join(sorted(self.teams))

    def covers(self, scope: str) -> bool:
        """True if this token may see an object created under ``scope``."""
        if self.teams is None:
            return True
        if scope == "*":
            return False
        return set(scope.split(",")) <= self.teams


@dataclass(frozen=True)
class NewToken:
    """A created token: the secret is only ever available here."""

    id: int
    name: str
    role: str
    teams: list[str] | None
    token: str


def create_token(conn: Connection, *, role: str, teams: list[str] | None = None, name: str | None = None) -> NewToken:
    """Create a token and return it with its secret (stored only hashed)."""
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    name = (name or f"{role}-{secrets.token_hex(3)}").strip()[:200]
    result = conn.execute(
        tokens.insert().values(
            name=name, token_hash=hash_secret(secret), role=role, teams=teams, created_at=utcnow(), revoked_at=None
        )
    )
    token_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    return NewToken(id=token_id, name=name, role=role, teams=teams, token=secret)


def list_tokens(conn: Connection) -> list[dict[str, Any]]:
    """All tokens (never their secrets), oldest first."""
    rows = conn.execute(
        sa.select(
            tokens.c.id, tokens.c.name, tokens.c.role, tokens.c.teams, tokens.c.created_at, tokens.c.revoked_at
        ).order_by(tokens.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def revoke_token(conn: Connection, token_id: int) -> None:
    """Revoke a token and end its sessions; :class:`NotFoundError` if there is no such active token."""
    result = conn.execute(
        tokens.update().where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    if result.rowcount == 0:
        raise NotFoundError(f"no active token with id {token_id}; list them with `vocml token list`")
    conn.execute(sessions.delete().where(sessions.c.token_id == token_id))


def count_tokens(conn: Connection) -> int:
    """How many tokens exist (revoked ones included)."""
    return int(conn.execute(sa.select(sa.func.count()).select_from(tokens)).scalar_one())


def _principal(row: Any) -> Principal:
    teams = row.teams
    return Principal(token_id=row.id, name=row.name, role=row.role, teams=None if teams is None else frozenset(teams))


def authenticate_token(engine: Engine, secret: str) -> Principal:
    """The principal of a bearer token; :class:`AuthError` if it is unknown or revoked."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(tokens.c.id, tokens.c.name, tokens.c.role, tokens.c.teams).where(
                tokens.c.token_hash == hash_secret(secret), tokens.c.revoked_at.is_(None)
            )
        ).first()
    if row is None:
        raise AuthError("the token is unknown or revoked; ask an admin for a new one (`vocml token create`)")
    return _principal(row)


class TokenCache:
    """Recently authenticated bearer tokens of this process, so most requests skip the database.

    An entry lives ``ttl`` seconds: a token revoked through this process stops working at once
    (:meth:`clear`), one revoked elsewhere (another worker, ``vocml token revoke``) within ``ttl``.
    ``ttl`` of 0 looks every request up. Unknown or revoked tokens are never cached.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, secret: str, now: float) -> Principal | None:
        """The cached principal of ``secret`` if it was looked up less than ``ttl`` seconds ago."""
        entry = self._entries.get(hash_secret(secret))
        if entry is None or now - entry[0] >= self.ttl:
            return None
        return entry[1]

    def put(self, secret: str, principal: Principal, now: float) -> None:
        """Remember a successful lookup made at ``now``."""
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[hash_secret(secret)] = (now, principal)

    def clear(self) -> None:
        """Forget every token (after a revocation)."""
        self._entries.clear()


def authenticate_session(engine: Engine, session_id: str) -> Principal:
    """The principal behind a session cookie; :class:`AuthError` if expired, unknown or its token revoked."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(tokens.c.id, tokens.c.name, tokens.c.role, tokens.c.teams)
            .select_from(sessions.join(tokens, sessions.c.token_id == tokens.c.id))
            .where(
                sessions.c.id_hash == hash_secret(session_id),
                sessions.c.expires_at > utcnow(),
                tokens.c.revoked_at.is_(None),
            )
        ).first()
    if row is None:
        raise AuthError("the session has expired or was signed out; sign in again with your token")
    return _principal(row)


def create_session(engine: Engine, principal: Principal, ttl_seconds: int) -> str:
    """Start a dashboard session for ``principal``; return the opaque session id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.expires_at <= now))
        conn.execute(
            sessions.insert().values(
                id_hash=hash_secret(session_id),
                token_id=principal.token_id,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl_seconds),
            )
        )
    return session_id


def delete_session(engine: Engine, session_id: str) -> None:
    """End a session (no error if it is already gone)."""
    with engine.begin() as conn:
        conn.execute(sessions.delete().where(sessions.c.id_hash == hash_secret(session_id)))
