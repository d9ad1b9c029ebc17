"""The review queue (service/review_queue.py): the model's least certain records first, spread over
behaviours and months, never the audit sample or what is reviewed already, within the token's teams;
and the export of review and audit labels with their kind, for `vocml train --extra`."""

from __future__ import annotations

import io
from typing import Any

import pytest

ROWS = (
    "id,team,source,created_at,text\n"
    # "maybe" makes the fake classifier 50% confident, else 90%
    "u1,EMEA,call_note,2026-01-05T10:00:00Z,maybe they asked about goals\n"
    "u2,EMEA,call_note,2026-01-06T10:00:00Z,maybe they asked about goals\n"  # the same text again
    "u3,EMEA,call_note,2026-02-05T10:00:00Z,maybe a discount was pushed\n"
    "u4,EMEA,call_note,2026-02-06T10:00:00Z,maybe the delivery was late\n"
    "c1,EMEA,call_note,2026-01-07T10:00:00Z,they asked about goals\n"
    "c2,EMEA,call_note,2026-02-07T10:00:00Z,a discount was pushed\n"
    "c3,EMEA,call_note,2026-02-08T10:00:00Z,the delivery was late\n"
    "x1,APAC,call_note,2026-02-08T10:00:00Z,maybe APAC asked\n"
)


@pytest.fixture
def loaded(client: Any, tokens: Any, helpers: Any) -> Any:
    r = helpers.upload(client, ROWS, tokens["admin"])
    assert helpers.wait_batch(client, r.json()["id"], tokens["admin"])["rows_stored"] == 8
    return client


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["external_id"] for i in items]


def test_uncertain_first_spread_over_behaviours_and_months_without_repeats(loaded: Any, tokens: Any) -> None:
    r = loaded.get("/v1/review-queue?team=EMEA&limit=10", headers=tokens["uploader"])
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    ids = _ids(items)
    assert set(ids[:3]) == {"u1", "u3", "u4"} or set(ids[:3]) == {"u2", "u3", "u4"}  # the uncertain ones first
    assert not {"u1", "u2"} <= set(ids)  # one copy of a repeated text
    assert all(i["prediction"]["label"] and i["prediction"]["scores"] for i in items)  # with what the model said
    assert "APAC" not in r.text
    first = items[0]
    loaded.post(f"/v1/records/{first['id']}/review", json={"label": "needs_first"}, headers=tokens["uploader"])
    again = _ids(loaded.get("/v1/review-queue?team=EMEA&limit=10", headers=tokens["uploader"]).json()["items"])
    assert first["external_id"] not in again  # reviewed records leave the queue


def test_the_queue_never_holds_the_audit_sample(loaded: Any, tokens: Any) -> None:
    audit = loaded.get("/v1/audit?team=EMEA&period=month&start=2026-01-01&end=2026-02-28", headers=tokens["admin"])
    sampled = {i["id"] for i in audit.json()["items"]}
    assert sampled  # all of January and February: small months, every record drawn
    queue = loaded.get("/v1/review-queue?team=EMEA&limit=50", headers=tokens["admin"]).json()["items"]
    assert not sampled & {i["id"] for i in queue}


def test_the_queue_stays_within_the_token_teams(loaded: Any, tokens: Any, helpers: Any) -> None:
    r = loaded.get("/v1/review-queue?team=APAC", headers=tokens["uploader_emea"])
    helpers.assert_problem(r, 403)
    assert loaded.get("/v1/review-queue?team=EMEA", headers=tokens["viewer"]).status_code == 403


def test_review_and_audit_labels_export_with_their_kind(loaded: Any, tokens: Any) -> None:
    from vocml.data import read_records

    queue = loaded.get("/v1/review-queue?team=EMEA&limit=1", headers=tokens["admin"]).json()["items"]
    loaded.post(f"/v1/records/{queue[0]['id']}/review", json={"label": "pitch_first"}, headers=tokens["admin"])
    audit = loaded.get("/v1/audit?team=EMEA&period=month&start=2026-01-01&end=2026-01-31", headers=tokens["admin"])
    item = audit.json()["items"][0]
    loaded.post(
        f"/v1/records/{item['id']}/review", json={"label": "needs_first", "audit": True}, headers=tokens["admin"]
    )
    r = loaded.get("/v1/reviews/export", headers=tokens["admin"])
    lines = [line for line in r.text.splitlines() if line]
    kinds = sorted(__import__("json").loads(line)["kind"] for line in lines)
    assert kinds == ["audit", "review"]
    rows = read_records(io.BytesIO(r.content), name="reviews.jsonl", require_label=True)  # what train --extra reads
    assert {row.label for row in rows} == {"pitch_first", "needs_first"}
    limited = loaded.get("/v1/reviews/export", headers=tokens["uploader_emea"])
    assert len([line for line in limited.text.splitlines() if line]) == 2  # EMEA's own
