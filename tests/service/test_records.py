"""GET /v1/records (filters, search, cursor pages), GET /v1/export.csv, reviews and their export."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest


def seed(client: Any, tokens: Any, helpers: Any, n: int = 25) -> None:
    lines = ["id,text,team,source,created_at,rep"]
    for i in range(n):
        text = "we asked about goals" if i % 3 == 0 else "discount to sign" if i % 3 == 1 else "invoice PDF"
        if i == 7:
            text = '=HYPERLINK("x") Special Widget'
        if i == 8:
            text = "maybe we asked"
        source = "call_note" if i % 2 else "customer_comment"
        lines.append(
            f'r{i},"{text.replace(chr(34), chr(34) * 2)} {i}",EMEA,{source},2026-01-{1 + i:02d}T09:00:00Z,rep{i % 2}'
        )
    body = helpers.wait_batch(
        client, helpers.upload(client, "\n".join(lines) + "\n", tokens["uploader"]).json()["id"], tokens["uploader"]
    )
    assert body["rows_stored"] == n, body


def test_records_newest_first_with_cursor_pages(client: Any, tokens: Any, helpers: Any) -> None:
    seed(client, tokens, helpers)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        url = "/v1/records?limit=10" + (f"&cursor={cursor}" if cursor else "")
        r = client.get(url, headers=tokens["viewer"])
        assert r.status_code == 200, r.text
        body = r.json()
        seen.extend(i["external_id"] for i in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"r{i}" for i in range(24, -1, -1)]
    item = client.get("/v1/records?limit=1", headers=tokens["viewer"]).json()["items"][0]
    assert set(item) >= {
        "id",
        "external_id",
        "team",
        "source",
        "rep",
        "created_at",
        "text",
        "label",
        "prediction",
        "review",
    }
    assert set(item["prediction"]) == {"label", "confidence", "scores", "uncertain", "cues", "evidence"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("label=needs_first", {f"r{i}" for i in range(0, 25, 3)} | {"r8"}),
        ("source=call_note&label=pitch_first", {f"r{i}" for i in range(1, 25, 3) if i % 2} - {"r7"}),
        ("q=special%20WIDGET", {"r7"}),
        ("q=100%25", set()),
        ("uncertain=true", {"r8"}),
        ("start=2026-01-20&end=2026-01-21", {"r19", "r20"}),
        ("team=EMEA&q=invoice&end=2026-01-06", {"r2", "r5"}),
    ],
)
def test_records_filters(client: Any, tokens: Any, helpers: Any, query: str, expected: set[str]) -> None:
    seed(client, tokens, helpers)
    r = client.get(f"/v1/records?limit=500&{query}", headers=tokens["viewer"])
    assert r.status_code == 200, r.text
    assert {i["external_id"] for i in r.json()["items"]} == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("label=maybe", "label"),
        ("uncertain=perhaps", "uncertain"),
        ("cursor=garbage", None),
        ("start=2026-02-01&end=2026-01-01", None),
    ],
)
def test_records_bad_parameters(client: Any, tokens: Any, helpers: Any, query: str, field: str | None) -> None:
    helpers.assert_problem(client.get(f"/v1/records?{query}", headers=tokens["viewer"]), 422, field=field)


def test_export_csv_streams_the_same_filters(client: Any, tokens: Any, helpers: Any) -> None:
    seed(client, tokens, helpers)
    r = client.get("/v1/export.csv?source=call_note", headers=tokens["viewer"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 12
    assert {row["source"] for row in rows} == {"call_note"}
    assert rows[0]["external_id"] == "r23"  # newest first
    formula = next(row for row in rows if row["external_id"] == "r7")
    assert formula["text"].startswith("'=")  # spreadsheet formulas are neutralised


def test_export_csv_large_is_complete(client: Any, tokens: Any, helpers: Any) -> None:
    lines = ["id,text,team"] + [f"r{i},we asked {i},EMEA" for i in range(2500)]
    helpers.wait_batch(
        client, helpers.upload(client, "\n".join(lines), tokens["uploader"]).json()["id"], tokens["uploader"]
    )
    r = client.get("/v1/export.csv", headers=tokens["viewer"])
    assert len(list(csv.DictReader(io.StringIO(r.text)))) == 2500


def test_review_permissions_and_validation(client: Any, tokens: Any, helpers: Any) -> None:
    seed(client, tokens, helpers, n=3)
    record_id = client.get("/v1/records", headers=tokens["viewer"]).json()["items"][0]["id"]
    helpers.assert_problem(
        client.post(f"/v1/records/{record_id}/review", json={"label": "nope"}, headers=tokens["admin"]),
        422,
        field="label",
    )
    helpers.assert_problem(
        client.post(f"/v1/records/{record_id}/review", json={"label": "no_signal"}, headers=tokens["viewer"]), 403
    )
    helpers.assert_problem(
        client.post("/v1/records/999999/review", json={"label": "no_signal"}, headers=tokens["admin"]), 404
    )
    r = client.post(f"/v1/records/{record_id}/review", json={"label": "no_signal"}, headers=tokens["uploader_emea"])
    assert r.status_code == 200, r.text
    review = r.json()["review"]
    assert review["label"] == "no_signal" and review["reviewed_by"] == "uploader_emea" and review["reviewed_at"]


def test_reviews_export_is_the_training_contract(client: Any, tokens: Any, helpers: Any) -> None:
    from vocml.data import read_records

    seed(client, tokens, helpers, n=6)
    items = client.get("/v1/records", headers=tokens["viewer"]).json()["items"]
    for item, label in zip(items[:3], ["pitch_first", "needs_first", "no_signal"], strict=True):
        client.post(f"/v1/records/{item['id']}/review", json={"label": label}, headers=tokens["admin"])
    r = client.get("/v1/reviews/export", headers=tokens["uploader"])
    assert r.status_code == 200, r.text
    rows = read_records(io.BytesIO(r.content), name="reviews.jsonl", require_label=True)
    assert len(rows) == 3
    assert {row.label for row in rows} == {"pitch_first", "needs_first", "no_signal"}
    assert all(row.text and row.team == "EMEA" and row.created_at is not None for row in rows)


def test_each_record_keeps_the_model_version_that_labelled_it(client: Any, tokens: Any, helpers: Any) -> None:
    seed(client, tokens, helpers, n=2)
    items = client.get("/v1/records", headers=tokens["viewer"]).json()["items"]
    assert items and {i["model_version"] for i in items} == {"0.0.0-fake"}  # the classifier that stored them
