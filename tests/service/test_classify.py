"""POST /v1/classify: the library's predictions, in order, nothing stored; bad input as problems."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from service.db import records

FIELDS = {"id", "label", "confidence", "scores", "uncertain", "cues", "evidence"}


@pytest.fixture
def real_client(make_client: Any, sqlite_settings: Any, shipped_model: Any) -> Any:
    return make_client(sqlite_settings, shipped_model)


def test_classify_returns_library_predictions_in_order(real_client: Any, shipped_model: Any, helpers: Any) -> None:
    tokens = helpers.make_tokens(real_client)
    items = [
        {"text": "Nobody asked what we needed; 20% off if we signed today.", "id": "a", "source": "customer_comment"},
        {"text": "Disc call: 3 pains, mapped to onboarding, agreed next steps.", "id": "b", "source": "call_note"},
        {"text": "The invoice PDF would not open."},
    ]
    r = real_client.post("/v1/classify", json={"items": items}, headers=tokens["uploader"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == {"version": shipped_model.version, "by_team": {}}
    assert [res["id"] for res in body["results"]] == ["a", "b", None]
    expected = [p.to_dict() for p in shipped_model.classify(items)]  # each item with its source
    for res, exp, item in zip(body["results"], expected, items, strict=True):
        assert set(res) == FIELDS
        assert res["label"] == exp["label"]
        assert res["scores"] == pytest.approx(exp["scores"])
        assert res["label"] in shipped_model.labels
        assert sum(res["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        for ev in res["evidence"]:
            assert item["text"][ev["start"] : ev["end"]] == ev["phrase"]
    # the documented response model describes exactly what is sent
    from service.schemas import ClassifyOut

    assert ClassifyOut.model_validate(body).model_dump(mode="json") == body


def test_a_call_note_is_classified_with_its_source_offsets(
    make_client: Any, sqlite_settings: Any, call_note_bundle: Any, helpers: Any
) -> None:
    """A CRM integration sends rep notes as ``call_note``: they are read with the call-note offsets."""
    from vocml.bundle import load_model
    from vocml.data import Record

    model = load_model(call_note_bundle)
    client = make_client(sqlite_settings, model)
    text = "Asked about their goals first, then walked them through the two plans."
    items = [{"text": text, "source": "call_note"}, {"text": text, "source": "customer_comment"}, {"text": text}]
    r = client.post("/v1/classify", json={"items": items}, headers=helpers.make_tokens(client)["uploader"])
    assert r.status_code == 200, r.text
    note, comment, plain = (res["scores"] for res in r.json()["results"])
    assert note == model.classify([Record(text=text, source="call_note")])[0].scores
    assert comment == plain == model.classify([text])[0].scores != note


def test_classify_stores_nothing(client: Any, tokens: Any) -> None:
    r = client.post("/v1/classify", json={"items": [{"text": "we asked about goals"}]}, headers=tokens["uploader"])
    assert r.status_code == 200, r.text
    with client.app.state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(records)).scalar_one() == 0


def test_classify_counts_texts_in_metrics(client: Any, tokens: Any) -> None:
    client.post("/v1/classify", json={"items": [{"text": "a"}, {"text": "b"}]}, headers=tokens["uploader"])
    text = client.get("/metrics", headers=tokens["admin"]).text
    assert "vocml_texts_classified_total 2" in text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": []}, "items"),
        ({"items": [{"text": "x"}] * 1001}, "items"),
        ({"items": [{"text": "   "}]}, "items.0.text"),
        ({"items": [{"text": "ok"}, {"text": ""}]}, "items.1.text"),
        ({"items": [{"text": "x" * 20_001}]}, "items.0.text"),
        ({"items": [{"text": "ok", "source": "email"}]}, "items.0.source"),
        ({"items": [{"text": "ok", "colour": "red"}]}, "items.0.colour"),
        ({"items": [{"id": "no-text"}]}, "items.0.text"),
        ({"texts": ["wrong key"]}, "items"),
    ],
    ids=[
        "empty",
        "too-many",
        "blank",
        "second-empty",
        "huge-text",
        "bad-source",
        "extra-field",
        "no-text",
        "wrong-key",
    ],
)
def test_classify_bad_input_is_a_problem_naming_the_field(
    client: Any, tokens: Any, helpers: Any, body: dict[str, Any], field: str
) -> None:
    r = client.post("/v1/classify", json=body, headers=tokens["uploader"])
    helpers.assert_problem(r, 422, field=field)


def test_classify_malformed_json(client: Any, tokens: Any, helpers: Any) -> None:
    r = client.post(
        "/v1/classify", content=b'{"items": [', headers={**tokens["uploader"], "content-type": "application/json"}
    )
    helpers.assert_problem(r, 422)


def test_classify_body_over_2mb_is_413(client: Any, tokens: Any, helpers: Any) -> None:
    big = b'{"items": [' + b",".join([b'{"text": "' + b"a" * 2000 + b'"}'] * 1100) + b"]}"
    r = client.post("/v1/classify", content=big, headers={**tokens["uploader"], "content-type": "application/json"})
    helpers.assert_problem(r, 413)


def test_classify_chunked_body_over_2mb_is_413(client: Any, tokens: Any, helpers: Any) -> None:
    def chunks() -> Any:
        yield b'{"items": ['
        for _ in range(1100):
            yield b'{"text": "' + b"a" * 2000 + b'"},'
        yield b'{"text": "end"}]}'

    r = client.post(
        "/v1/classify", content=chunks(), headers={**tokens["uploader"], "content-type": "application/json"}
    )
    helpers.assert_problem(r, 413)


def test_concurrent_requests_are_coalesced_and_answered_in_order(
    client: Any, tokens: Any, fake_classifier: Any
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"we asked {i}" if i % 2 else f"discount {i}" for i in range(40)]

    def call(i: int) -> tuple[int, Any]:
        r = client.post("/v1/classify", json={"items": [{"text": texts[i], "id": str(i)}]}, headers=tokens["uploader"])
        return i, r

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(40)))
    for i, r in results:
        assert r.status_code == 200, r.text
        (res,) = r.json()["results"]
        assert res["id"] == str(i)
        assert res["label"] == ("needs_first" if i % 2 else "pitch_first")
    assert fake_classifier.calls <= 41  # one warm-up call at start at most, then <= one per request


def test_coalescer_passes_errors_to_every_waiting_request_and_recovers() -> None:
    import asyncio

    from service.coalesce import Coalescer

    class Flaky:
        fail = True

        def classify(self, items: Any) -> Any:
            if self.fail:
                raise RuntimeError("boom")
            return [f"p-{item}" for item in items]

    async def run() -> None:
        flaky = Flaky()
        coalescer = Coalescer(flaky)
        results = await asyncio.gather(*(coalescer.classify([i]) for i in range(3)), return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        flaky.fail = False
        got = await asyncio.gather(coalescer.classify(["a", "b"]), coalescer.classify(["c"]))
        assert got == [["p-a", "p-b"], ["p-c"]]

    asyncio.run(run())


def test_an_item_names_its_team_and_a_team_limited_token_only_its_own(client: Any, tokens: Any, helpers: Any) -> None:
    body = {"items": [{"text": "We asked about goals.", "team": "EMEA"}]}
    r = client.post("/v1/classify", json=body, headers=tokens["uploader_emea"])
    assert r.status_code == 200, r.text
    assert r.json()["model"]["by_team"] == {"EMEA": "0.0.0-fake"}
    other = {"items": [{"text": "We asked about goals.", "team": "NA"}]}
    helpers.assert_problem(client.post("/v1/classify", json=other, headers=tokens["uploader_emea"]), 403)
