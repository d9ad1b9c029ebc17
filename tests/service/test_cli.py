"""`vocml token create|list|revoke` and `vocml serve` (uvicorn replaced by a stub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from vocml.cli import main


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'fresh' / 'vocml.db'}"
    monkeypatch.setenv("VOCML_DATABASE_URL", url)
    return url


def test_token_create_prints_only_the_token_and_works_on_a_fresh_database(db: str, capsys: Any) -> None:
    assert main(["token", "create", "--role", "viewer", "--teams", "EMEA, APAC", "--name", "lead"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("vocml_")
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT name, role, teams, token_hash FROM tokens")).one()
    engine.dispose()
    assert row.name == "lead" and row.role == "viewer" and '"APAC"' in row.teams
    assert out.strip() not in row.token_hash


def test_token_list_and_revoke(db: str, capsys: Any) -> None:
    main(["token", "create", "--role", "admin", "--name", "boss"])
    secret = capsys.readouterr().out.strip()
    assert main(["token", "list"]) == 0
    listing = capsys.readouterr().out
    assert "boss" in listing and "admin" in listing and "(all)" in listing and secret not in listing
    assert main(["token", "revoke", "1"]) == 0
    capsys.readouterr()
    assert main(["token", "revoke", "1"]) == 2
    assert "no active token" in capsys.readouterr().err


def test_token_create_rejects_unknown_role(db: str) -> None:
    with pytest.raises(SystemExit):
        main(["token", "create", "--role", "owner"])


def test_serve_creates_the_first_admin_once_and_runs_uvicorn(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import service.cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(service.cli, "run_uvicorn", lambda app, **kw: calls.append({"app": app, **kw}))
    assert main(["serve", "--port", "8123", "--workers", "2"]) == 0
    err = capsys.readouterr().err
    assert "http://127.0.0.1:8123/#token=vocml_" in err
    assert calls[0]["app"] == "service.app:create_app"
    assert (calls[0]["port"], calls[0]["workers"]) == (8123, 2)
    main(["serve", "--port", "8123"])
    assert "token" not in capsys.readouterr().err  # printed once, on the first start only
