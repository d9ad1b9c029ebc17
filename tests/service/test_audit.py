"""The audit sample (service/audit.py): a seeded uniform draw per team and ended period, labelled blind,
kept apart from corrections, and feeding prediction-powered trends. SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import random
import re
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from service.audit import seed_of
from service.db import audit_samples, label_counts, records

MONTH = "period=month&start=2026-02-01&end=2026-02-28"


def _rows() -> str:
    lines = ["id,team,source,created_at,text"]
    for i in range(40):  # February, EMEA: a mix the fake classifier labels by keyword
        text = ["We asked about their goals", "Pushed a discount", "The delivery was late", "They asked and listened"][
            i % 4
        ]
        lines.append(f"e{i},EMEA,customer_comment,2026-02-{1 + i % 27:02d}T10:00:00Z,{text} {i}")
    lines += [f"a{i},APAC,call_note,2026-02-03T10:00:00Z,asked APAC {i}" for i in range(5)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def settings(settings: Any) -> Any:
    """12 records a period (a small sample of a 40-record month)."""
    return dataclasses.replace(settings, audit_per_period=12)


@pytest.fixture
def audited(client: Any, tokens: Any, helpers: Any) -> Any:
    r = helpers.upload(client, _rows(), tokens["admin"])
    assert helpers.wait_batch(client, r.json()["id"], tokens["admin"])["rows_stored"] == 45
    return client


def test_the_audit_is_a_blind_seeded_uniform_draw_recorded_once(audited: Any, tokens: Any) -> None:
    r = audited.get(f"/v1/audit?team=EMEA&{MONTH}", headers=tokens["uploader"])
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 12
    assert set(items[0]) == {"id", "text", "source", "created_at", "period_start"}  # no label, no scores
    again = audited.get(f"/v1/audit?team=EMEA&{MONTH}", headers=tokens["admin"]).json()["items"]
    assert [i["id"] for i in again] == [i["id"] for i in items]  # drawn once
    engine = audited.app.state.engine
    with engine.connect() as conn:
        ids = sorted(
            conn.execute(sa.select(records.c.id).where(records.c.team == "EMEA").order_by(records.c.id)).scalars()
        )
        stored = conn.execute(sa.select(audit_samples.c.seed, audit_samples.c.record_id)).all()
    seed = seed_of("EMEA", "month", date(2026, 2, 1), audited.app.state.settings.audit_seed)
    assert {s for s, _ in stored} == {seed}  # the seed is recorded
    assert sorted(random.Random(seed).sample(ids, 12)) == sorted(i["id"] for i in items)  # reproducible


def test_an_audit_label_is_kept_apart_and_turns_the_trend_prediction_powered(audited: Any, tokens: Any) -> None:
    engine = audited.app.state.engine
    trend = audited.get("/v1/trends?team=EMEA&period=month", headers=tokens["viewer"]).json()
    assert trend["points"][0]["adjustment"] == "card" and trend["points"][0]["audit_n"] == 0
    items = audited.get(f"/v1/audit?team=EMEA&{MONTH}", headers=tokens["uploader"]).json()["items"]
    with engine.connect() as conn:
        before = sorted(tuple(r) for r in conn.execute(sa.select(label_counts)))
    truth = {"We asked about their goals": "needs_first", "Pushed a discount": "pitch_first"}
    for item in items:
        label = next((v for k, v in truth.items() if item["text"].startswith(k)), "no_signal")
        r = audited.post(
            f"/v1/records/{item['id']}/review", json={"label": label, "audit": True}, headers=tokens["uploader"]
        )
        assert r.status_code == 200, r.text
        assert r.json()["review"] is None  # the record's own label is not a correction
    assert audited.get(f"/v1/audit?team=EMEA&{MONTH}", headers=tokens["uploader"]).json()["items"] == []
    with engine.connect() as conn:
        assert sorted(tuple(r) for r in conn.execute(sa.select(label_counts))) == before  # counts untouched
    point = audited.get("/v1/trends?team=EMEA&period=month", headers=tokens["viewer"]).json()["points"][0]
    assert point["adjustment"] == "ppi" and point["audit_n"] == 12
    assert 0.0 <= point["adjusted_ci_low"] <= point["adjusted_share"] <= point["adjusted_ci_high"] <= 1.0
    secret = tokens["viewer"]["Authorization"].split()[1]
    assert audited.post("/v1/session", json={"token": secret}).status_code == 200
    page = audited.get("/teams/EMEA?period=month", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "from 12 audit labels" in page.text
    overview = audited.get("/?period=month", headers={"Accept": "text/html"})
    assert re.search(r'<span class="audited">audit: \d+% \(\d+%–\d+%\), 12 labels</span>', overview.text)


def test_a_running_period_is_not_drawn(audited: Any, tokens: Any, helpers: Any) -> None:
    from service.db import utcnow

    today = utcnow().date()
    r = helpers.upload(client := audited, f"id,team,text,created_at\nnow1,EMEA,asked today,{today}\n", tokens["admin"])
    helpers.wait_batch(client, r.json()["id"], tokens["admin"])
    start = today.replace(day=1)
    r = audited.get(f"/v1/audit?team=EMEA&period=month&start={start}&end={today}", headers=tokens["uploader"])
    assert r.status_code == 200 and r.json()["items"] == []


def test_audit_stays_within_the_token_teams(audited: Any, tokens: Any) -> None:
    r = audited.get(f"/v1/audit?team=APAC&{MONTH}", headers=tokens["uploader_emea"])
    assert r.status_code == 403 and "APAC" not in r.text.replace("team APAC", "")  # refused
    apac = audited.get(f"/v1/audit?team=APAC&{MONTH}", headers=tokens["admin"]).json()["items"]
    assert apac and all("APAC" in i["text"] for i in apac)
    r = audited.post(
        f"/v1/records/{apac[0]['id']}/review",
        json={"label": "needs_first", "audit": True},
        headers=tokens["uploader_emea"],
    )
    assert r.status_code == 404  # another team's record does not exist for this token
    assert audited.get(f"/v1/audit?team=EMEA&{MONTH}", headers=tokens["viewer"]).status_code == 403  # uploaders label
    r = audited.post("/v1/records/999999/review", json={"label": "needs_first", "audit": True}, headers=tokens["admin"])
    assert r.status_code == 404


def _label_all(client: Any, tokens: Any, team: str) -> int:
    items = client.get(f"/v1/audit?team={team}&{MONTH}", headers=tokens["uploader"]).json()["items"]
    for item in items:
        text = item["text"].lower()
        label = "needs_first" if "asked" in text else "pitch_first" if "discount" in text else "no_signal"
        r = client.post(
            f"/v1/records/{item['id']}/review", json={"label": label, "audit": True}, headers=tokens["admin"]
        )
        assert r.status_code == 200, r.text
    return len(items)


def test_the_say_do_gap_and_the_headline_follow_the_audit_once_every_part_is_audited(
    client: Any, tokens: Any, helpers: Any
) -> None:
    lines = ["id,team,source,created_at,text"]
    for team in ("EMEA", "APAC"):
        for i in range(60):
            source = "call_note" if i % 2 else "customer_comment"
            text = ["We asked about goals", "Pushed a discount", "Delivery was late"][i % 3]
            lines.append(f"{team}{i},{team},{source},2026-02-{1 + i % 27:02d}T10:00:00Z,{text} {i}")
    r = helpers.upload(client, "\n".join(lines) + "\n", tokens["admin"])
    assert helpers.wait_batch(client, r.json()["id"], tokens["admin"])["rows_stored"] == 120
    secret = tokens["admin"]["Authorization"].split()[1]
    assert client.post("/v1/session", json={"token": secret}).status_code == 200
    overview = f"/?{MONTH}"
    assert _label_all(client, tokens, "EMEA") == 12
    point = client.get("/v1/trends?team=EMEA&period=month", headers=tokens["viewer"]).json()["points"][0]
    say_do = point["say_do"]
    assert say_do["adjustment"] == "ppi", say_do  # 12 labels from two sources: each has its own part
    assert -1 <= say_do["adjusted_ci_low"] <= say_do["adjusted_gap"] <= say_do["adjusted_ci_high"] <= 1
    assert "audit: " in client.get(overview, headers={"Accept": "text/html"}).text
    # APAC is not audited yet: the headline for both teams stays the model's count
    assert "Checked against" not in client.get(overview, headers={"Accept": "text/html"}).text
    _label_all(client, tokens, "APAC")
    html = client.get(overview, headers={"Accept": "text/html"}).text
    assert re.search(
        r"Checked against each of the 2 teams.{0,10} blind audit \(24 labels in all\): \d+% needs-first", html
    )
