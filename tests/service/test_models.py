"""``/v1/models``: retrain in the background with progress, evaluation side by side, promote, roll back,
discard; team isolation of versions, evaluations and retrains."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import sqlalchemy as sa

from service.db import label_counts, records
from tests.service.counts import assert_counts_match_records

# Training is the slow part and knows no database: tests about it alone run on SQLite; promotion,
# rollback and isolation run on both.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

TEXTS = {
    "needs_first": "They asked about our goals for the warehouse before showing anything, visit {i}",
    "pitch_first": "He pushed a discount and wanted us to sign today, call {i}",
    "no_signal": "The parcel arrived on Tuesday and the invoice was correct, order {i}",
}


def seed(client: Any, headers: dict[str, str], helpers: Any, team: str, n: int = 30) -> list[int]:
    """``n`` records per label for ``team``; returns their ids."""
    lines = ["id,text,team,source,created_at"]
    for label, text in TEXTS.items():
        lines += [f'{team}-{label}-{i},"{text.format(i=i)}",{team},customer_comment,2026-03-1{i % 9}' for i in range(n)]
    r = helpers.upload(client, "\n".join(lines) + "\n", headers, name=f"{team}.csv")
    assert r.status_code == 202, r.text
    batch = helpers.wait_batch(client, r.json()["id"], headers)
    assert batch["status"] == "done" and batch["rows_stored"] == 3 * n, batch
    r = client.get(f"/v1/records?team={team}&limit=500", headers=headers)
    return [item["id"] for item in r.json()["items"]]


def review_all(client: Any, headers: dict[str, str], team: str) -> int:
    """Review every record of ``team`` with the label its text was written for; returns how many."""
    items = client.get(f"/v1/records?team={team}&limit=500", headers=headers).json()["items"]
    for item in items:
        label = item["external_id"].split("-")[1]
        r = client.post(f"/v1/records/{item['id']}/review", json={"label": label}, headers=headers)
        assert r.status_code == 200, r.text
    return len(items)


def wait_model(client: Any, version: str, headers: dict[str, str], timeout: float = 300) -> dict[str, Any]:
    """Poll a version until it leaves queued/training; the stages seen along the way are in ``seen``."""
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while True:
        body = client.get(f"/v1/models/{version}", headers=headers).json()
        if body["stage"] not in seen:
            seen.append(body["stage"])
        if body["status"] not in ("queued", "training"):
            body["seen"] = seen
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def wait_runs(client: Any, version: str, headers: dict[str, str], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/models/{version}", headers=headers).json()
        if body["runs"] and all(run["status"] == "done" for run in body["runs"]):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


@pytest.fixture
def trained(retrain_settings: Any, make_client: Any, fake_classifier: Any, helpers: Any) -> dict[str, Any]:
    """A client with EMEA and NA records, every EMEA record reviewed, and a trained version for EMEA."""
    client = make_client(retrain_settings, fake_classifier)
    tokens = helpers.make_tokens(client)
    seed(client, tokens["uploader"], helpers, "EMEA")
    seed(client, tokens["uploader"], helpers, "NA", n=10)
    reviewed = review_all(client, tokens["uploader"], "EMEA")
    r = client.post("/v1/models", json={"teams": ["EMEA"], "weights": {"review": 3}}, headers=tokens["admin_emea"])
    assert r.status_code == 202, r.text
    body = wait_model(client, r.json()["version"], tokens["admin_emea"])
    return {"client": client, "tokens": tokens, "model": body, "reviewed": reviewed}


@SQLITE_ONLY
def test_a_retrain_reports_its_stages_and_ends_with_both_models_scored_side_by_side(trained: dict[str, Any]) -> None:
    model = trained["model"]
    assert model["status"] == "trained", model
    assert model["teams"] == ["EMEA"] and model["serving"] == []
    assert model["progress_done"] == model["progress_total"] == 4
    assert any(stage.startswith("training on the shipped data plus") for stage in model["seen"]), model["seen"]
    rows = model["params"]["customer_rows"]
    # every reviewed record is either trained on or held out, never both
    assert rows["review"] + rows["held_out"] == trained["reviewed"] and rows["audit"] == 0
    assert 0 < rows["held_out"] < trained["reviewed"] / 2
    assert model["params"]["weights"] == {"review": 3.0, "audit": 2.0}
    customer = model["evaluation"]["customer"]
    assert customer["n"] == rows["held_out"]
    assert customer["current"]["versions"] == ["0.0.0-fake"]
    for side in ("current", "new"):
        assert 0 <= customer[side]["macro_f1"] <= 1
    data = model["evaluation"]["data"]["dev.jsonl"]
    assert data["n"] == 120 and {"current", "new"} <= set(data)


def test_promote_then_roll_back_relabels_stored_records_and_keeps_every_count_true(trained: dict[str, Any]) -> None:
    client, tokens, version = trained["client"], trained["tokens"], trained["model"]["version"]
    admin = tokens["admin_emea"]
    engine = client.app.state.engine
    r = client.post(f"/v1/models/{version}/promote", headers=admin)
    assert r.status_code == 200, r.text
    body = wait_runs(client, version, admin)
    run = body["runs"][0]
    emea = 90
    assert run["total"] == run["done"] == emea and run["chunks"] >= emea // 7
    assert sum(ch["records"] for ch in run["recent_chunks"]) <= emea
    assert body["serving"] == ["EMEA"] and body["status"] == "promoted"
    with engine.connect() as conn:
        versions = dict(
            conn.execute(sa.select(records.c.team, sa.func.min(records.c.model_version)).group_by(records.c.team)).all()
        )
    assert versions == {"EMEA": version, "NA": "0.0.0-fake"}
    assert_counts_match_records(engine)
    # new EMEA rows are labelled by the promoted version, NA rows still by the shipped one
    r = client.post(
        "/v1/classify",
        json={"items": [{"text": "asked about goals", "team": "EMEA"}, {"text": "asked", "team": "NA"}]},
        headers=tokens["uploader"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["model"]["by_team"] == {"EMEA": version, "NA": "0.0.0-fake"}
    # a review after the re-labelling still moves exactly one count
    before = _count_total(engine)
    rec = client.get("/v1/records?team=EMEA&limit=1", headers=admin).json()["items"][0]
    assert client.post(f"/v1/records/{rec['id']}/review", json={"label": "no_signal"}, headers=admin).status_code == 200
    assert _count_total(engine) == before
    assert_counts_match_records(engine)

    r = client.post(f"/v1/models/{version}/rollback", headers=admin)
    assert r.status_code == 200, r.text
    (run_id,) = r.json()["runs"]
    deadline = time.monotonic() + 60
    while True:
        shipped = client.get("/v1/models/0.0.0-fake", headers=tokens["admin"]).json()
        done = [run for run in shipped["runs"] if run["id"] == run_id and run["status"] == "done"]
        if done:
            break
        assert time.monotonic() < deadline, shipped
        time.sleep(0.05)
    assert done[0]["done"] == emea
    with engine.connect() as conn:
        left = conn.execute(sa.select(sa.func.count()).where(records.c.model_version == version)).scalar_one()
    assert left == 0
    assert_counts_match_records(engine)
    assert client.get(f"/v1/models/{version}", headers=admin).json()["status"] == "retired"
    # rolling back twice has nothing to do
    r = client.post(f"/v1/models/{version}/rollback", headers=admin)
    assert r.status_code == 409 and "nothing to roll back" in r.json()["detail"]


def _count_total(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.sum(label_counts.c.n))).scalar_one())


def test_a_team_limited_admin_never_sees_another_teams_versions(trained: dict[str, Any], helpers: Any) -> None:
    client, tokens, version = trained["client"], trained["tokens"], trained["model"]["version"]
    engine = client.app.state.engine
    from service.auth import create_token

    with engine.begin() as conn:
        na_admin = {"Authorization": f"Bearer {create_token(conn, role='admin', teams=['NA'], name='na').token}"}
    listed = [m["version"] for m in client.get("/v1/models", headers=na_admin).json()["items"]]
    assert version not in listed and "0.0.0-fake" in listed
    for method, path in (
        ("get", f"/v1/models/{version}"),
        ("post", f"/v1/models/{version}/promote"),
        ("post", f"/v1/models/{version}/rollback"),
        ("post", f"/v1/models/{version}/discard"),
    ):
        r = getattr(client, method)(path, headers=na_admin)
        helpers.assert_problem(r, 404)
    # a retrain for a team outside the token's teams is refused; one for its own team serves only it
    helpers.assert_problem(client.post("/v1/models", json={"teams": ["EMEA"]}, headers=na_admin), 403)
    r = client.post("/v1/models", json={}, headers=na_admin)
    assert r.status_code == 202 and r.json()["teams"] == ["NA"]
    # the evaluation the EMEA admin sees names no other team's text
    assert "NA-" not in str(client.get(f"/v1/models/{version}", headers=tokens["admin_emea"]).json())
    # uploaders and viewers manage no models
    for kind in ("uploader", "viewer"):
        helpers.assert_problem(client.get("/v1/models", headers=tokens[kind]), 403)


@SQLITE_ONLY
def test_discard_and_the_states_that_refuse_a_promotion(trained: dict[str, Any], helpers: Any) -> None:
    client, tokens, version = trained["client"], trained["tokens"], trained["model"]["version"]
    admin = tokens["admin_emea"]
    r = client.post(f"/v1/models/{version}/discard", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "discarded"
    r = client.post(f"/v1/models/{version}/promote", headers=admin)
    helpers.assert_problem(r, 409)
    assert "discarded" in r.json()["detail"]
    settings = client.app.state.settings
    assert not (settings.models_dir / version).exists()
    # the shipped model already serves every team
    helpers.assert_problem(client.post("/v1/models/0.0.0-fake/promote", headers=tokens["admin"]), 409)


def test_a_retrain_without_labels_of_every_kind_fails_with_the_reason(
    retrain_settings: Any, make_client: Any, fake_classifier: Any, helpers: Any, tmp_path: Any
) -> None:
    import dataclasses

    broken = tmp_path / "broken.toml"
    broken.write_text('[data]\ntrain = [{ path = "missing.jsonl", weight = 1.0 }]\n', encoding="utf-8")
    client = make_client(dataclasses.replace(retrain_settings, retrain_recipe=broken), fake_classifier)
    tokens = helpers.make_tokens(client)
    r = client.post("/v1/models", json={}, headers=tokens["admin"])
    assert r.status_code == 202
    body = wait_model(client, r.json()["version"], tokens["admin"])
    assert body["status"] == "failed" and "missing.jsonl" in body["error"], body
    # the service goes on: a batch is still processed
    seed(client, tokens["uploader"], helpers, "EMEA", n=2)


@SQLITE_ONLY
def test_the_retrain_page_shows_each_version_with_its_evaluation_and_actions(trained: dict[str, Any]) -> None:
    client, tokens, version = trained["client"], trained["tokens"], trained["model"]["version"]
    page = client.get("/models", headers=tokens["admin_emea"])
    assert page.status_code == 200
    html = page.text
    assert version in html and "Your held-out reviewed and audited records" in html
    assert f'data-model-action="promote" data-version="{version}"' in html
    assert f'data-model-action="discard" data-version="{version}"' in html
    assert "Development set dev.jsonl" in html
    assert re.search(r"On your held-out records the new version gets \d+ in 100 right, the current one \d+", html)
    # after promotion: a roll-back button and the re-labelling progress
    assert client.post(f"/v1/models/{version}/promote", headers=tokens["admin_emea"]).status_code == 200
    wait_runs(client, version, tokens["admin_emea"])
    html = client.get("/models", headers=tokens["admin_emea"]).text
    assert f'data-model-action="rollback" data-version="{version}"' in html
    assert "Re-labelling stored records: 90 of 90 (100%)" in html
    # other roles are told what they need; another team's admin does not see the version
    assert "needs an admin token" in client.get("/models", headers=tokens["viewer"]).text
    from service.auth import create_token

    with client.app.state.engine.begin() as conn:
        na_admin = {"Authorization": f"Bearer {create_token(conn, role='admin', teams=['NA'], name='na').token}"}
    assert version not in client.get("/models", headers=na_admin).text
