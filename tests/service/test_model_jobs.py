"""The model worker: a re-classification resumes from its checkpoint after a crash (a worker that stops
mid-run in-process, and ``kill -9`` of a real server), and every count stays true through promotion and
rollback."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from service.auth import create_token
from service.db import make_engine, migrate, reclassify_runs, records
from tests.service.conftest import tiny_recipe
from tests.service.counts import assert_counts_match_records
from tests.service.test_models import TEXTS, review_all, seed, wait_model
from tests.uvicorn_process import UvicornProcess


def _versions(engine: Any) -> dict[str | None, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(records.c.model_version, sa.func.count()).group_by(records.c.model_version))
        return {v: int(n) for v, n in rows}


def test_a_run_stopped_mid_way_is_finished_by_the_next_worker_from_its_checkpoint(
    retrain_settings: Any, make_client: Any, fake_classifier: Any, helpers: Any
) -> None:
    first = make_client(retrain_settings, fake_classifier)
    tokens = helpers.make_tokens(first)
    seed(first, tokens["uploader"], helpers, "EMEA")
    review_all(first, tokens["uploader"], "EMEA")
    version = first.post("/v1/models", json={"teams": ["EMEA"]}, headers=tokens["admin"]).json()["version"]
    assert wait_model(first, version, tokens["admin"])["status"] == "trained"
    worker = first.app.state.model_worker
    worker.stop_after_chunks = 3  # simulated crash: this worker stops for good after three chunks
    assert first.post(f"/v1/models/{version}/promote", headers=tokens["admin"]).status_code == 200
    engine = first.app.state.engine
    deadline = time.monotonic() + 60
    while worker._thread.is_alive():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with engine.connect() as conn:
        run = conn.execute(sa.select(reclassify_runs)).mappings().one()
    assert run["status"] == "running" and run["chunks"] == 3 and run["done"] == 21 < run["total"] == 90
    assert _versions(engine) == {version: 21, "0.0.0-fake": 69}
    assert_counts_match_records(engine)  # each chunk moved its counts with its records
    # another server on the same database takes the stale run over and goes on from the checkpoint
    second = make_client(dataclasses.replace(retrain_settings, batch_stale_seconds=0.0), fake_classifier)
    deadline = time.monotonic() + 60
    while True:
        with engine.connect() as conn:
            run = conn.execute(sa.select(reclassify_runs)).mappings().one()
        if run["status"] == "done":
            break
        assert time.monotonic() < deadline, dict(run)
        time.sleep(0.05)
    assert run["done"] == 90 and run["chunks"] == 13  # 90 records in chunks of 7: nothing done twice
    assert _versions(engine) == {version: 90}
    assert_counts_match_records(engine)
    assert second.get(f"/v1/models/{version}", headers=tokens["admin"]).json()["runs"][0]["done"] == 90


# --- kill -9 of a real server ----------------------------------------------------------------------


@pytest.mark.slow
def test_promotion_and_rollback_through_the_api_survive_kill_9_mid_reclassification(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'vocml.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    with engine.begin() as conn:
        admin = {"Authorization": f"Bearer {create_token(conn, role='admin', teams=None, name='admin').token}"}
    recipe, dev = tiny_recipe(tmp_path / "recipe")
    env = {
        **os.environ,
        "VOCML_DATABASE_URL": database_url,
        "VOCML_SPOOL_DIR": str(tmp_path / "spool"),
        "VOCML_MODELS_DIR": str(tmp_path / "models"),
        "VOCML_RETRAIN_RECIPE": str(recipe),
        "VOCML_RETRAIN_EVAL_SETS": str(dev),
        "VOCML_RECLASSIFY_CHUNK_ROWS": "20",
        "VOCML_BATCH_STALE_SECONDS": "3",
        "VOCML_POLL_SECONDS": "0.1",
        "PYTHONUNBUFFERED": "1",
    }
    server = UvicornProcess(env, tmp_path / "server.log")
    server.start()
    client = httpx.Client(base_url=server.url, timeout=60)
    try:
        n = 1000
        lines = ["id,text,team,source,created_at"]
        for label, text in TEXTS.items():
            lines += [f'{label}-{i},"{text.format(i=i)}",EMEA,customer_comment,2026-03-1{i % 9}' for i in range(n)]
        r = client.post("/v1/batches", files={"file": ("rows.csv", "\n".join(lines) + "\n", "text/csv")}, headers=admin)
        assert r.status_code == 202, r.text
        batch = r.json()["id"]
        while (body := client.get(f"/v1/batches/{batch}", headers=admin).json())["status"] not in ("done", "failed"):
            time.sleep(0.2)
        assert body["rows_stored"] == 3 * n, body
        (shipped_version,) = _versions(engine)
        for item in client.get("/v1/records?team=EMEA&limit=300", headers=admin).json()["items"][:60]:
            label = item["external_id"].rsplit("-", 1)[0]
            assert (
                client.post(f"/v1/records/{item['id']}/review", json={"label": label}, headers=admin).status_code == 200
            )
        version = client.post("/v1/models", json={"teams": ["EMEA"]}, headers=admin).json()["version"]
        deadline = time.monotonic() + 600
        while (model := client.get(f"/v1/models/{version}", headers=admin).json())["status"] in ("queued", "training"):
            assert time.monotonic() < deadline, model
            time.sleep(0.5)
        assert model["status"] == "trained", model
        assert model["evaluation"]["customer"]["n"] > 0

        assert client.post(f"/v1/models/{version}/promote", headers=admin).status_code == 200
        while not (runs := client.get(f"/v1/models/{version}", headers=admin).json()["runs"]) or runs[0]["done"] == 0:
            time.sleep(0.01)
        server.kill9()
        with engine.connect() as conn:
            run = conn.execute(sa.select(reclassify_runs)).mappings().one()
        assert 0 < run["done"] < run["total"] == 3 * n, "the run ended before the kill: raise n"
        assert_counts_match_records(engine)  # a killed chunk left nothing half-written

        server.start()
        deadline = time.monotonic() + 300
        while (runs := client.get(f"/v1/models/{version}", headers=admin).json()["runs"])[0]["status"] != "done":
            assert time.monotonic() < deadline, runs
            time.sleep(0.2)
        assert runs[0]["done"] == 3 * n  # resumed from the checkpoint: nothing re-labelled twice
        assert _versions(engine) == {version: 3 * n}
        assert_counts_match_records(engine)

        r = client.post(f"/v1/models/{version}/rollback", headers=admin)
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 300
        while True:
            with engine.connect() as conn:
                status = conn.execute(
                    sa.select(reclassify_runs.c.status).where(reclassify_runs.c.id == r.json()["runs"][0])
                ).scalar_one()
            if status == "done":
                break
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert _versions(engine) == {shipped_version: 3 * n}
        assert_counts_match_records(engine)
    finally:
        client.close()
        server.stop()
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # training knows no database
def test_a_version_left_training_by_a_dead_worker_is_trained_again_by_the_next(
    retrain_settings: Any, make_client: Any, fake_classifier: Any, helpers: Any
) -> None:
    from datetime import timedelta

    from service.db import model_versions, utcnow

    client = make_client(retrain_settings, fake_classifier)
    tokens = helpers.make_tokens(client)
    engine = client.app.state.engine
    version = "0.0.0-fake+r9.dead"
    half_written = retrain_settings.models_dir / version
    half_written.mkdir(parents=True)
    (half_written / "card.json").write_text("{", encoding="utf-8")  # what a killed attempt might leave
    with engine.begin() as conn:
        conn.execute(
            model_versions.insert().values(
                version=version,
                scope="EMEA",
                status="training",
                stage="training on the shipped data plus 0 reviewed and 0 audited records (0 held out)",
                progress_done=2,
                progress_total=4,
                params={"weights": {"review": 2.0, "audit": 2.0}},
                created_at=utcnow(),
                owner="a-worker-killed-mid-training",
                heartbeat_at=utcnow() - timedelta(minutes=5),
            )
        )
    client.app.state.model_worker.notify()
    body = wait_model(client, version, tokens["admin"])
    assert body["status"] == "trained", body
    assert body["evaluation"]["data"]["dev.jsonl"]["n"] == 120
    from vocml.bundle import load_model

    assert load_model(half_written).version == version  # the half-written bundle was replaced whole
    assert not [p for p in retrain_settings.models_dir.iterdir() if p.name.startswith(".")]
