"""Scopes, who may see a version, and which version labels a team."""

from __future__ import annotations

from typing import Any

from service.auth import Principal
from service.registry import may_see, scope_of, serving, teams_of


def principal(teams: list[str] | None) -> Principal:
    return Principal(token_id=1, name="t", role="admin", teams=None if teams is None else frozenset(teams))


def test_a_scope_round_trips_and_every_team_is_a_star() -> None:
    assert scope_of(None) == "*" and teams_of("*") is None
    assert scope_of(["b", "a", "a"]) == "a,b" and teams_of("a,b") == frozenset({"a", "b"})


def test_a_team_limited_admin_sees_only_versions_of_its_own_teams() -> None:
    emea = principal(["EMEA"])
    assert may_see(emea, "EMEA") and may_see(emea, "*")  # the shipped model holds no team's text
    assert not may_see(emea, "EMEA,NA") and not may_see(emea, "NA")
    assert may_see(principal(None), "NA")


def test_a_team_row_beats_the_every_team_row_which_beats_the_shipped_model() -> None:
    assert serving({}, "EMEA", "0.3.0") == "0.3.0"
    assert serving({"*": "g1"}, "EMEA", "0.3.0") == "g1"
    assert serving({"*": "g1", "EMEA": "e1"}, "EMEA", "0.3.0") == "e1"
    assert serving({"*": "g1", "EMEA": "e1"}, "NA", "0.3.0") == "g1"


def test_the_shipped_model_is_registered_once_however_many_workers_start(client: Any, fake_classifier: Any) -> None:
    import sqlalchemy as sa

    from service.db import model_versions
    from service.registry import register_shipped

    engine = client.app.state.engine
    for _ in range(3):  # what each worker process does at start
        register_shipped(engine, fake_classifier)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(model_versions.c.version, model_versions.c.status)).all()
    assert [tuple(r) for r in rows] == [("0.0.0-fake", "shipped")]
