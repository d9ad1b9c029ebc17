"""Dashboard sessions: POST /v1/session sets the cookie, the API accepts it, DELETE ends it."""

from __future__ import annotations

from typing import Any


def secret(tokens: Any, kind: str) -> str:
    return str(tokens[kind]["Authorization"].split()[1])


def test_session_cookie_signs_in_and_out(client: Any, tokens: Any, helpers: Any) -> None:
    r = client.post("/v1/session", json={"token": secret(tokens, "viewer_emea")})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "viewer_emea", "role": "viewer", "teams": ["EMEA"]}
    cookie = r.headers["set-cookie"]
    assert "vocml_session=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert secret(tokens, "viewer_emea") not in cookie
    assert client.get("/v1/me").json()["name"] == "viewer_emea"
    assert client.get("/v1/teams").status_code == 200
    # the session carries the token's role and teams
    helpers.assert_problem(client.post("/v1/classify", json={"items": [{"text": "x"}]}), 403)
    helpers.assert_problem(client.get("/v1/trends?team=APAC"), 403)
    # a bearer header wins over the cookie
    helpers.assert_problem(client.get("/v1/me", headers={"Authorization": "Bearer wrong"}), 401)
    assert client.delete("/v1/session").status_code == 204
    helpers.assert_problem(client.get("/v1/me"), 401)


def test_deleted_cookie_value_is_useless(client: Any, tokens: Any, helpers: Any) -> None:
    client.post("/v1/session", json={"token": secret(tokens, "viewer")})
    value = client.cookies.get("vocml_session")
    client.delete("/v1/session")
    client.cookies.set("vocml_session", value)
    helpers.assert_problem(client.get("/v1/me"), 401)


def test_session_needs_a_valid_token(client: Any, helpers: Any) -> None:
    helpers.assert_problem(client.post("/v1/session", json={"token": "vocml_nope"}), 401)
    helpers.assert_problem(client.post("/v1/session", json={}), 422, field="token")
    assert "set-cookie" not in client.post("/v1/session", json={"token": "vocml_nope"}).headers


def test_revoking_a_token_ends_its_sessions(client: Any, tokens: Any, helpers: Any) -> None:
    client.post("/v1/session", json={"token": secret(tokens, "viewer")})
    assert client.get("/v1/me").status_code == 200
    viewer_id = next(t["id"] for t in client.get("/v1/tokens", headers=tokens["admin"]).json() if t["name"] == "viewer")
    client.delete(f"/v1/tokens/{viewer_id}", headers=tokens["admin"])
    helpers.assert_problem(client.get("/v1/me"), 401)


def test_forged_cookie_is_401(client: Any, helpers: Any) -> None:
    client.cookies.set("vocml_session", "forged")
    helpers.assert_problem(client.get("/v1/records"), 401)
