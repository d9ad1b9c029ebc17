"""POST /v1/batches and GET /v1/batches/{id}: streaming upload, background chunks, errors, dedupe, resume."""

from __future__ import annotations

import io
import json
import random
import time
from typing import Any

import pytest
import sqlalchemy as sa

from service.db import batches, label_counts, records
from vocml.data import read_records

GOOD = (
    "id,text,team,source,created_at,rep\n"
    "r1,We asked about their goals first,EMEA,call_note,2026-01-05,ann\n"
    "r2,Pushed a discount to sign by Friday,EMEA,customer_comment,2026-01-06T10:00:00Z,\n"
    "r3,The invoice was late,APAC,customer_comment,2026-01-12,\n"
)


def count(client: Any, table: Any = records) -> int:
    with client.app.state.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_upload_csv_is_queued_then_done(client: Any, tokens: Any, helpers: Any) -> None:
    r = helpers.upload(client, GOOD, tokens["uploader"])
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"
    body = helpers.wait_batch(client, r.json()["id"], tokens["uploader"])
    assert body["status"] == "done"
    assert (body["rows_total"], body["rows_stored"], body["rows_rejected"]) == (3, 3, 0)
    assert body["errors"] == []
    assert count(client) == 3
    with client.app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(label_counts.c.n))).scalar_one() == 3


def test_upload_jsonl(client: Any, tokens: Any, helpers: Any) -> None:
    lines = "\n".join(json.dumps({"id": f"j{i}", "text": f"we asked question {i}", "team": "EMEA"}) for i in range(5))
    r = helpers.upload(client, lines, tokens["uploader"], name="rows.jsonl")
    body = helpers.wait_batch(client, r.json()["id"], tokens["uploader"])
    assert (body["status"], body["rows_stored"]) == ("done", 5)


def test_bad_rows_are_counted_and_reported_with_line_and_field(client: Any, tokens: Any, helpers: Any) -> None:
    content = (
        "id,text,team,source,created_at\n"
        "a,fine text,EMEA,call_note,2026-01-05\n"
        "b,,EMEA,call_note,2026-01-05\n"  # empty text
        "c,no team here,,call_note,2026-01-05\n"  # missing team
        "d,bad source,EMEA,email,2026-01-05\n"
        "e,bad date,EMEA,call_note,yesterday\n"
        'f,"unterminated, quote",EMEA\n'  # wrong column count
        "g,another fine text,EMEA,,\n"
    )
    r = helpers.upload(client, content, tokens["uploader"])
    body = helpers.wait_batch(client, r.json()["id"], tokens["uploader"])
    assert body["status"] == "done"
    assert (body["rows_total"], body["rows_stored"], body["rows_rejected"]) == (7, 2, 5)
    by_line = {e["line"]: e for e in body["errors"]}
    assert by_line[3]["field"] == "text"
    assert by_line[4]["field"] == "team"
    assert by_line[5]["field"] == "source"
    assert by_line[6]["field"] == "created_at"
    assert 7 in by_line and "columns" in by_line[7]["message"]


def test_errors_are_paged(client: Any, tokens: Any, helpers: Any) -> None:
    content = "text,team\n" + ",EMEA\n" * 25
    r = helpers.upload(client, content, tokens["uploader"])
    batch_id = r.json()["id"]
    helpers.wait_batch(client, batch_id, tokens["uploader"])
    page = client.get(f"/v1/batches/{batch_id}?errors_limit=10&errors_offset=20", headers=tokens["uploader"]).json()
    assert page["errors_total"] == 25
    assert [e["line"] for e in page["errors"]] == [22, 23, 24, 25, 26]
    assert page["errors_next_offset"] is None
    first = client.get(f"/v1/batches/{batch_id}?errors_limit=10", headers=tokens["uploader"]).json()
    assert first["errors_next_offset"] == 10


def test_wrong_encoding_rows_are_rejected_not_garbled(client: Any, tokens: Any, helpers: Any) -> None:
    content = "id,text,team\n1,caf\xe9 visit: we asked a lot,EMEA\n2,plain ascii,EMEA\n".encode("latin-1")
    r = helpers.upload(client, content, tokens["uploader"])
    body = helpers.wait_batch(client, r.json()["id"], tokens["uploader"])
    assert (body["rows_stored"], body["rows_rejected"]) == (1, 1)
    assert "UTF-8" in body["errors"][0]["message"]


def test_utf8_bom_and_non_ascii_are_fine(client: Any, tokens: Any, helpers: Any) -> None:
    content = "\ufeffid,text,team\n1,Café: we asked about Zürich,EMEA\n".encode()
    r = helpers.upload(client, content, tokens["uploader"])
    body = helpers.wait_batch(client, r.json()["id"], tokens["uploader"])
    assert body["rows_stored"] == 1
    rec = client.get("/v1/records", headers=tokens["viewer"]).json()["items"][0]
    assert rec["text"] == "Café: we asked about Zürich"


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("id,body,team\n1,hello,EMEA\n", "text"),  # no text column
        ("id,text\n1,hello\n", "team"),  # no team column
        ("id,text,team\n", "file"),  # header only
    ],
    ids=["no-text-column", "no-team-column", "header-only"],
)
def test_file_level_problems_are_422_at_upload(
    client: Any, tokens: Any, helpers: Any, content: str, field: str
) -> None:
    r = helpers.upload(client, content, tokens["uploader"])
    helpers.assert_problem(r, 422, field=field)
    assert count(client, batches) == 0
    assert list(client.app.state.settings.spool_dir.glob("*")) == []


def test_empty_file_and_missing_field(client: Any, tokens: Any, helpers: Any) -> None:
    helpers.assert_problem(helpers.upload(client, b"", tokens["uploader"]), 422, field="file")
    r = client.post("/v1/batches", files={"other": ("a.csv", b"text,team\nx,EMEA\n")}, headers=tokens["uploader"])
    helpers.assert_problem(r, 422, field="file")
    r = client.post(
        "/v1/batches", content=b"text,team\nx,EMEA\n", headers={**tokens["uploader"], "content-type": "text/csv"}
    )
    helpers.assert_problem(r, 415)


def test_upload_over_the_limit_is_413_and_leaves_nothing(
    make_client: Any, sqlite_settings: Any, fake_classifier: Any, helpers: Any
) -> None:
    from dataclasses import replace

    client = make_client(replace(sqlite_settings, max_upload_bytes=1000), fake_classifier)
    tokens = helpers.make_tokens(client)
    content = "text,team\n" + "we asked about goals,EMEA\n" * 100
    helpers.assert_problem(helpers.upload(client, content, tokens["uploader"]), 413)

    def chunked() -> Any:  # no Content-Length: the limit is enforced while streaming
        boundary = "b0undary"
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'.encode()
        for _ in range(100):
            yield b"we asked about goals,EMEA\n"
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post(
        "/v1/batches",
        content=chunked(),
        headers={**tokens["uploader"], "content-type": "multipart/form-data; boundary=b0undary"},
    )
    helpers.assert_problem(r, 413)
    assert list(sqlite_settings.spool_dir.glob("*")) == []
    assert count(client, batches) == 0


def test_huge_text_is_rejected_with_its_line(client: Any, tokens: Any, helpers: Any) -> None:
    content = "text,team\nshort one,EMEA\n" + "x" * 20_001 + ",EMEA\n"
    body = helpers.wait_batch(
        client, helpers.upload(client, content, tokens["uploader"]).json()["id"], tokens["uploader"]
    )
    assert (body["rows_stored"], body["rows_rejected"]) == (1, 1)
    assert body["errors"][0]["line"] == 3 and body["errors"][0]["field"] == "text"


def test_same_file_twice_gives_the_first_batch(client: Any, tokens: Any, helpers: Any) -> None:
    first = helpers.upload(client, GOOD, tokens["uploader"])
    helpers.wait_batch(client, first.json()["id"], tokens["uploader"])
    again = helpers.upload(client, GOOD, tokens["uploader"], name="renamed.csv")
    assert again.status_code == 200, again.text
    body = again.json()
    assert {k: body[k] for k in ("id", "status")} == {"id": first.json()["id"], "status": "done"}
    # it says when the first copy went in, under which name, and how many rows it counted
    assert body["filename"] == first.json()["filename"] and body["created_at"].endswith("+00:00")
    assert body["rows_expected"] == first.json()["rows_expected"] == 3
    assert count(client) == 3
    assert count(client, batches) == 1


def test_existing_ids_are_not_stored_twice(client: Any, tokens: Any, helpers: Any) -> None:
    helpers.wait_batch(client, helpers.upload(client, GOOD, tokens["uploader"]).json()["id"], tokens["uploader"])
    overlap = "id,text,team\nr1,we asked again,EMEA\nr3,same id other team,EMEA\nr9,new,EMEA\nr9,repeat in file,EMEA\n"
    body = helpers.wait_batch(
        client, helpers.upload(client, overlap, tokens["uploader"]).json()["id"], tokens["uploader"]
    )
    assert (body["rows_stored"], body["rows_duplicate"], body["rows_rejected"]) == (2, 2, 0)
    assert count(client) == 5
    # the skipped rows are listed by line, apart from the rejected ones
    assert body["errors"] == []
    assert [(d["line"], d["field"]) for d in body["duplicates"]] == [(2, "id"), (5, "id")]
    assert "'r1'" in body["duplicates"][0]["message"] and "skipped" in body["duplicates"][0]["message"]


def test_duplicates_are_paged_across_chunks(
    make_client: Any, sqlite_settings: Any, fake_classifier: Any, helpers: Any
) -> None:
    from dataclasses import replace

    client = make_client(replace(sqlite_settings, chunk_rows=7), fake_classifier)
    tokens = helpers.make_tokens(client)
    rows = "".join(f"d{i},text number {i},EMEA\n" for i in range(30))
    helpers.wait_batch(
        client, helpers.upload(client, "id,text,team\n" + rows, tokens["uploader"]).json()["id"], tokens["uploader"]
    )
    again = "id,text,team\n" + rows + "".join(f"n{i},new text {i},EMEA\n" for i in range(5))
    batch_id = helpers.upload(client, again, tokens["uploader"]).json()["id"]
    body = helpers.wait_batch(client, batch_id, tokens["uploader"])
    assert (body["rows_stored"], body["rows_duplicate"]) == (5, 30)
    seen = []
    offset: int | None = 0
    while offset is not None:
        page = client.get(
            f"/v1/batches/{batch_id}?duplicates_offset={offset}&duplicates_limit=8", headers=tokens["uploader"]
        ).json()
        seen += [d["line"] for d in page["duplicates"]]
        offset = page["duplicates_next_offset"]
    assert seen == list(range(2, 32))


def test_team_limited_uploader_cannot_write_other_teams(client: Any, tokens: Any, helpers: Any) -> None:
    r = helpers.upload(client, GOOD, tokens["uploader_emea"])
    body = helpers.wait_batch(client, r.json()["id"], tokens["uploader_emea"])
    assert (body["rows_stored"], body["rows_rejected"]) == (2, 1)
    assert body["errors"][0]["field"] == "team"
    assert "APAC" not in json.dumps(body)
    with client.app.state.engine.connect() as conn:
        assert conn.execute(sa.select(records.c.team).distinct()).scalars().all() == ["EMEA"]


def test_batches_are_scoped_to_the_uploaders_teams(client: Any, tokens: Any, helpers: Any) -> None:
    r = helpers.upload(client, GOOD, tokens["uploader"])
    batch_id = r.json()["id"]
    helpers.wait_batch(client, batch_id, tokens["uploader"])
    helpers.assert_problem(client.get(f"/v1/batches/{batch_id}", headers=tokens["uploader_emea"]), 404)
    assert client.get("/v1/batches", headers=tokens["uploader_emea"]).json() == []
    # the same content from a team-limited token is its own batch, not the other scope's
    again = helpers.upload(client, GOOD, tokens["uploader_emea"])
    assert again.status_code == 202 and again.json()["id"] != batch_id


def make_big_csv(n: int, bad_every: int, seed: int = 3) -> tuple[bytes, int]:
    """n rows; every ``bad_every``-th row is bad in one of several ways. Returns the bytes and the bad count."""
    rng = random.Random(seed)
    words = ["we asked about goals", "discount if you sign", "the invoice", "listened carefully", "roadmap demo"]
    out = io.StringIO()
    out.write("id,text,team,source,created_at\n")
    bad = 0
    for i in range(n):
        team = ("EMEA", "APAC", "AMER")[i % 3]
        day = f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}"
        text = f"{rng.choice(words)} {i}"
        if i % bad_every == bad_every - 1:
            bad += 1
            kind = (i // bad_every) % 4
            if kind == 0:
                text = ""
            elif kind == 1:
                team = ""
            elif kind == 2:
                day = "not-a-date"
            else:
                text = "x" * 20_001
        source = "call_note" if i % 2 else "customer_comment"
        out.write(f"id{i},{text},{team},{source},{day}\n")
    return out.getvalue().encode(), bad


def test_ten_thousand_bad_rows_in_a_hundred_thousand_do_not_sink_the_batch(
    make_client: Any, sqlite_settings: Any, fake_classifier: Any, helpers: Any
) -> None:
    client = make_client(sqlite_settings, fake_classifier)
    tokens = helpers.make_tokens(client)
    content, bad = make_big_csv(100_000, bad_every=10)
    assert bad == 10_000
    started = time.monotonic()
    r = helpers.upload(client, content, tokens["uploader"])
    assert r.status_code == 202, r.text
    body = helpers.wait_batch(client, r.json()["id"], tokens["uploader"], timeout=300)
    elapsed = time.monotonic() - started
    assert body["status"] == "done", body
    assert (body["rows_total"], body["rows_stored"], body["rows_rejected"]) == (100_000, 90_000, 10_000)
    assert body["errors_total"] == 10_000
    assert count(client) == 90_000
    with client.app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(label_counts.c.n))).scalar_one() == 90_000
    assert elapsed < 120, f"took {elapsed:.1f}s"


def test_crash_mid_batch_resumes_from_the_checkpoint(
    make_client: Any, sqlite_settings: Any, fake_classifier: Any, helpers: Any
) -> None:
    from dataclasses import replace

    settings = replace(sqlite_settings, chunk_rows=100)
    client = make_client(settings, fake_classifier)
    tokens = helpers.make_tokens(client)
    content, _ = make_big_csv(1000, bad_every=50)
    client.app.state.worker.stop_after_chunks = 3  # the worker "crashes" after three chunks
    batch_id = helpers.upload(client, content, tokens["uploader"]).json()["id"]
    deadline = time.monotonic() + 30
    while client.app.state.worker._thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    state = client.get(f"/v1/batches/{batch_id}", headers=tokens["uploader"]).json()
    assert state["status"] == "running"
    assert (state["rows_total"], state["rows_stored"] + state["rows_rejected"]) == (300, 300)
    assert count(client) == state["rows_stored"]
    client.__exit__(None, None, None)

    restarted = make_client(settings, fake_classifier)
    body = helpers.wait_batch(restarted, batch_id, tokens["uploader"])
    assert body["status"] == "done"
    assert (body["rows_total"], body["rows_stored"], body["rows_rejected"]) == (1000, 980, 20)
    assert count(restarted) == 980
    with restarted.app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.sum(label_counts.c.n))).scalar_one() == 980
        ids = conn.execute(sa.select(records.c.external_id)).scalars().all()
    assert len(ids) == len(set(ids))


def test_batch_whose_file_is_lost_fails_with_rows_intact(
    make_client: Any, sqlite_settings: Any, fake_classifier: Any, helpers: Any
) -> None:
    from dataclasses import replace

    settings = replace(sqlite_settings, chunk_rows=100)
    client = make_client(settings, fake_classifier)
    tokens = helpers.make_tokens(client)
    content, _ = make_big_csv(500, bad_every=1000)
    client.app.state.worker.stop_after_chunks = 2
    batch_id = helpers.upload(client, content, tokens["uploader"]).json()["id"]
    deadline = time.monotonic() + 30
    while client.app.state.worker._thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    client.__exit__(None, None, None)
    for path in settings.spool_dir.glob(f"{batch_id}.*"):
        path.unlink()
    restarted = make_client(settings, fake_classifier)
    body = helpers.wait_batch(restarted, batch_id, tokens["uploader"])
    assert body["status"] == "failed"
    assert "upload the file again" in body["error"]
    assert body["rows_stored"] == 200 == count(restarted)


def test_reupload_after_failure_makes_a_new_batch(
    make_client: Any, sqlite_settings: Any, fake_classifier: Any, helpers: Any
) -> None:
    client = make_client(sqlite_settings, fake_classifier)
    tokens = helpers.make_tokens(client)
    with client.app.state.engine.begin() as conn:
        conn.execute(batches.update().values(status="failed"))
    r = helpers.upload(client, GOOD, tokens["uploader"])
    assert r.status_code == 202


def test_stored_rows_export_in_the_data_contract(client: Any, tokens: Any, helpers: Any) -> None:
    helpers.wait_batch(client, helpers.upload(client, GOOD, tokens["uploader"]).json()["id"], tokens["uploader"])
    items = client.get("/v1/records", headers=tokens["viewer"]).json()["items"]
    for item in items:
        r = client.post(f"/v1/records/{item['id']}/review", json={"label": "needs_first"}, headers=tokens["admin"])
        assert r.status_code == 200, r.text
    export = client.get("/v1/reviews/export", headers=tokens["admin"])
    assert export.status_code == 200
    rows = read_records(io.BytesIO(export.content), name="reviews.jsonl", require_label=True)
    assert {r.id for r in rows} == {"r1", "r2", "r3"}
    assert {r.label for r in rows} == {"needs_first"}
    assert {r.team for r in rows} == {"EMEA", "APAC"}


def test_large_batches_are_classified_in_a_helper_process_with_the_same_results(
    make_client: Any, sqlite_settings: Any, helpers: Any, shipped_model: Any
) -> None:
    """The helper process loads the shipped bundle; stored labels equal classifying in-process."""
    from dataclasses import replace

    settings = replace(sqlite_settings, chunk_rows=20, batch_helper_min_bytes=0)
    client = make_client(settings)  # the real model, loaded from its bundle
    assert client.app.state.worker.model_dir is not None
    tokens = helpers.make_tokens(client)
    texts = [r.text for r in read_records("data/gold.jsonl")[:70]]
    lines = ["id,text,team,source"] + [
        f'g{i},"{t.replace(chr(34), chr(34) * 2)}",EMEA,call_note' for i, t in enumerate(texts)
    ]
    lines.append(",,EMEA,call_note")  # one rejected row (empty text) in the last chunk
    r = helpers.upload(client, "\n".join(lines) + "\n", tokens["uploader"])
    body = helpers.wait_batch(client, r.json()["id"], tokens["uploader"], timeout=180)
    assert (body["status"], body["rows_stored"], body["rows_rejected"]) == ("done", 70, 1), body
    with client.app.state.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(records.c.external_id, records.c.label)).all())
    expected = [p.label for p in shipped_model.classify(texts, sources=["call_note"] * 70)]  # read as call notes
    assert [stored[f"g{i}"] for i in range(70)] == expected
    assert client.app.state.worker.helper_chunks == 4  # every chunk went through the helper


def test_a_dead_helper_falls_back_to_the_worker_thread(client: Any) -> None:
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from service.batches import _Chunk
    from vocml.data import Record

    worker = client.app.state.worker
    future: Future[Any] = Future()
    future.set_exception(BrokenProcessPool("helper killed"))
    fresh = [Record(text="Asked about their goals before any demo.", team="EMEA", line=2)]
    predictions, versions = worker._predictions(_Chunk([*fresh], [], fresh, [], future))
    assert [p.label for p in predictions] == [p.label for p in worker.classifier.classify(fresh)]
    assert versions == [worker.classifier.version]
