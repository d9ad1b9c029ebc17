"""Access control on every route: 401 without a valid token, 403 without the role, and team isolation."""

from __future__ import annotations

import time
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from service.auth import list_tokens, revoke_token
from service.db import records
from service.settings import Settings

SECRET_TEAM = "APAC"
MARKER = "zebrafish"  # appears only in APAC texts


def seed(client: Any, tokens: Any, helpers: Any) -> dict[str, int]:
    content = (
        "id,text,team,source,created_at\n"
        "e1,we asked about goals,EMEA,call_note,2026-01-05\n"
        "e2,discount to sign today,EMEA,customer_comment,2026-01-06\n"
        f"a1,we asked about the {MARKER},{SECRET_TEAM},call_note,2026-01-05\n"
        f"a2,{MARKER} discount,{SECRET_TEAM},customer_comment,2026-01-06\n"
    )
    r = helpers.upload(client, content, tokens["admin"])
    helpers.wait_batch(client, r.json()["id"], tokens["admin"])
    with client.app.state.engine.connect() as conn:
        return {row.external_id: row.id for row in conn.execute(sa.select(records.c.id, records.c.external_id))}


def routes(ids: dict[str, int], batch_id: str = "nope") -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, path, minimum role, request kwargs) for every route that needs a token."""
    return [
        ("GET", "/metrics", "admin", {}),
        ("GET", "/v1/me", "viewer", {}),
        ("GET", "/v1/teams", "viewer", {}),
        ("GET", "/v1/trends?team=EMEA", "viewer", {}),
        ("GET", "/v1/records", "viewer", {}),
        ("GET", "/v1/export.csv", "viewer", {}),
        ("POST", "/v1/classify", "uploader", {"json": {"items": [{"text": "hello"}]}}),
        ("POST", "/v1/batches", "uploader", {"files": {"file": ("x.csv", b"text,team\nwe asked,EMEA\n")}}),
        ("GET", "/v1/batches", "uploader", {}),
        ("GET", f"/v1/batches/{batch_id}", "uploader", {}),
        ("POST", f"/v1/records/{ids['e1']}/review", "uploader", {"json": {"label": "needs_first"}}),
        ("GET", "/v1/reviews/export", "uploader", {}),
        ("GET", "/v1/tokens", "admin", {}),
        ("POST", "/v1/tokens", "admin", {"json": {"role": "viewer", "teams": ["EMEA"]}}),
        ("DELETE", "/v1/tokens/999", "admin", {}),
    ]


ROUTE_IDS = [f"{m} {p.split('?')[0]}" for m, p, _, _ in routes({"e1": 1})]


@pytest.fixture
def seeded(client: Any, tokens: Any, helpers: Any) -> dict[str, int]:
    return seed(client, tokens, helpers)


@pytest.mark.parametrize("index", range(len(ROUTE_IDS)), ids=ROUTE_IDS)
@pytest.mark.parametrize(
    "auth",
    [
        {},
        {"Authorization": "Bearer vocml_not-a-real-token"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
    ],
    ids=["missing", "unknown", "basic", "empty"],
)
def test_every_route_needs_a_valid_token(
    client: Any, seeded: dict[str, int], helpers: Any, index: int, auth: dict[str, str]
) -> None:
    method, path, _, kwargs = routes(seeded)[index]
    r = client.request(method, path, headers=auth, **kwargs)
    body = helpers.assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "vocml_not-a-real-token" not in body["detail"]


def test_healthz_needs_no_token(client: Any) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok"


@pytest.mark.parametrize("index", range(len(ROUTE_IDS)), ids=ROUTE_IDS)
def test_every_route_checks_the_role(
    client: Any, tokens: Any, seeded: dict[str, int], helpers: Any, index: int
) -> None:
    method, path, role, kwargs = routes(seeded)[index]
    below = {"viewer": None, "uploader": "viewer", "admin": "uploader"}[role]
    if below is None:
        r = client.request(method, path, headers=tokens["viewer"], **kwargs)
        assert r.status_code in (200, 202), r.text
        return
    r = client.request(method, path, headers=tokens[below], **kwargs)
    body = helpers.assert_problem(r, 403)
    assert role in body["detail"]


def test_revoked_token_is_401(client: Any, tokens: Any, helpers: Any) -> None:
    me = client.get("/v1/tokens", headers=tokens["admin"]).json()
    viewer_id = next(t["id"] for t in me if t["name"] == "viewer")
    assert client.delete(f"/v1/tokens/{viewer_id}", headers=tokens["admin"]).status_code == 204
    helpers.assert_problem(client.get("/v1/teams", headers=tokens["viewer"]), 401)


@pytest.mark.parametrize("kind", ["viewer_emea", "uploader_emea", "admin_emea"])
def test_team_limited_tokens_never_see_other_teams(
    client: Any, tokens: Any, seeded: dict[str, int], helpers: Any, kind: str
) -> None:
    headers = tokens[kind]
    seen: list[str] = []

    def get(path: str) -> Any:
        r = client.get(path, headers=headers)
        seen.append(r.text)
        return r

    assert [t["team"] for t in get("/v1/teams").json()["teams"]] == ["EMEA"]
    assert {i["team"] for i in get("/v1/records").json()["items"]} == {"EMEA"}
    assert get(f"/v1/records?q={MARKER}").json()["items"] == []
    assert get("/v1/export.csv").text.count("\n") == 3  # header + 2 EMEA rows
    assert get("/v1/trends?team=EMEA").status_code == 200
    helpers.assert_problem(get("/metrics"), 403)  # counts cover every team (issue 11, item 9)
    get("/v1/me")
    for path in (
        f"/v1/trends?team={SECRET_TEAM}",
        f"/v1/records?team={SECRET_TEAM}",
        f"/v1/export.csv?team={SECRET_TEAM}",
    ):
        helpers.assert_problem(get(path), 403)
    if kind != "viewer_emea":
        helpers.assert_problem(get(f"/v1/reviews/export?team={SECRET_TEAM}"), 403)
        assert get("/v1/reviews/export").status_code == 200
        r = client.post(f"/v1/records/{seeded['a1']}/review", json={"label": "no_signal"}, headers=headers)
        helpers.assert_problem(r, 404)
        seen.append(r.text)
        r = client.post(f"/v1/records/{seeded['e1']}/review", json={"label": "no_signal"}, headers=headers)
        assert r.status_code == 200, r.text
        assert get("/v1/batches").json() == []  # the admin's batch is not theirs
    if kind == "admin_emea":
        tokens_seen = get("/v1/tokens").json()
        assert all(t["teams"] and set(t["teams"]) <= {"EMEA"} for t in tokens_seen)
    for text in seen:
        assert SECRET_TEAM not in text.replace(f"team={SECRET_TEAM}", ""), text
        assert MARKER not in text


def test_team_limited_admin_manages_only_its_teams(client: Any, tokens: Any, helpers: Any) -> None:
    h = tokens["admin_emea"]
    helpers.assert_problem(client.post("/v1/tokens", json={"role": "viewer"}, headers=h), 403)
    helpers.assert_problem(
        client.post("/v1/tokens", json={"role": "viewer", "teams": ["EMEA", "APAC"]}, headers=h), 403
    )
    created = client.post("/v1/tokens", json={"role": "viewer", "teams": ["EMEA"], "name": "v"}, headers=h)
    assert created.status_code == 201, created.text
    assert created.json()["token"].startswith("vocml_")
    all_tokens = client.get("/v1/tokens", headers=tokens["admin"]).json()
    admin_id = next(t["id"] for t in all_tokens if t["name"] == "admin")
    helpers.assert_problem(client.delete(f"/v1/tokens/{admin_id}", headers=h), 404)
    assert client.delete(f"/v1/tokens/{created.json()['id']}", headers=h).status_code == 204
    assert "token" not in client.get("/v1/tokens", headers=tokens["admin"]).json()[0]


def test_tokens_are_stored_hashed(client: Any, tokens: Any) -> None:
    from service.db import tokens as tokens_table

    secret = tokens["admin"]["Authorization"].split()[1]
    with client.app.state.engine.connect() as conn:
        stored = conn.execute(sa.select(tokens_table.c.token_hash)).scalars().all()
    assert secret not in stored
    assert all(len(h) == 64 for h in stored)


# Routes that deliberately need no token: health, the sign-in exchange itself, and the API docs.
OPEN_ROUTES = {"/healthz", "/v1/session", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_no_api_route_is_left_open(client: Any, helpers: Any) -> None:
    """Every API route in the app (not just the ones listed above) answers 401 without a token."""
    import re

    checked = 0
    for template, operations in client.app.openapi()["paths"].items():
        if template in OPEN_ROUTES or not (template.startswith("/v1/") or template == "/metrics"):
            continue  # dashboard pages redirect to sign-in; tested in test_dashboard.py
        path = re.sub(r"\{[^}]+\}", "x1", template)
        for method in sorted(m.upper() for m in operations if m in ("get", "post", "put", "patch", "delete")):
            r = client.request(method, path)
            assert r.status_code == 401, f"{method} {template} answered {r.status_code} without a token"
            helpers.assert_problem(r, 401)
            checked += 1
    assert checked >= 15  # guard: the walk really found the API


def test_invalid_requests_without_a_token_get_401_not_422(client: Any, tokens: Any, helpers: Any) -> None:
    """Malformed JSON, wrong fields or bad query values: the missing token is reported first."""
    import re

    checked = 0
    for template, operations in client.app.openapi()["paths"].items():
        if template in OPEN_ROUTES or not template.startswith("/v1/"):
            continue
        path = re.sub(r"\{[^}]+\}", "x1", template)
        for method in sorted(m.upper() for m in operations if m in ("get", "post", "put", "patch", "delete")):
            for kwargs in (
                {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
                {"params": {"limit": "-5", "period": "fortnight", "start": "not-a-date"}},
            ):
                r = client.request(method, path, **kwargs)
                assert r.status_code == 401, f"{method} {template} answered {r.status_code}: {r.text[:200]}"
                helpers.assert_problem(r, 401)
                checked += 1
    assert checked >= 30
    # with a valid token the same malformed body is a 422 naming the problem
    r = client.post(
        "/v1/classify", content=b"{not json", headers={**tokens["uploader"], "Content-Type": "application/json"}
    )
    helpers.assert_problem(r, 422)


def _revoke_elsewhere(client: Any, name: str) -> None:
    """Revoke a token straight in the database, as `vocml token revoke` or another worker would."""
    engine = client.app.state.engine
    with engine.begin() as conn:
        token_id = next(t["id"] for t in list_tokens(conn) if t["name"] == name)
        revoke_token(conn, token_id)


def test_token_revoked_elsewhere_stops_working_within_the_cache_time(
    settings: Settings, make_client: Any, fake_classifier: Any, helpers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(replace(settings, auth_cache_seconds=2.0), fake_classifier)
    tokens = helpers.make_tokens(client)
    assert client.get("/v1/teams", headers=tokens["viewer"]).status_code == 200  # looked up, now cached
    _revoke_elsewhere(client, "viewer")
    assert client.get("/v1/teams", headers=tokens["viewer"]).status_code == 200  # still cached
    real = time.monotonic
    monkeypatch.setattr("service.deps.time", SimpleNamespace(monotonic=lambda: real() + 2.5))
    helpers.assert_problem(client.get("/v1/teams", headers=tokens["viewer"]), 401)


def test_without_the_cache_a_revocation_elsewhere_is_immediate(
    settings: Settings, make_client: Any, fake_classifier: Any, helpers: Any
) -> None:
    client = make_client(replace(settings, auth_cache_seconds=0.0), fake_classifier)
    tokens = helpers.make_tokens(client)
    assert client.get("/v1/teams", headers=tokens["viewer"]).status_code == 200
    _revoke_elsewhere(client, "viewer")
    helpers.assert_problem(client.get("/v1/teams", headers=tokens["viewer"]), 401)


def test_unknown_tokens_are_never_cached(client: Any, tokens: Any, helpers: Any) -> None:
    bad = {"Authorization": "Bearer vocml_not-a-token"}
    helpers.assert_problem(client.get("/v1/teams", headers=bad), 401)
    helpers.assert_problem(client.get("/v1/teams", headers=bad), 401)
    assert client.get("/v1/teams", headers=tokens["viewer"]).status_code == 200
