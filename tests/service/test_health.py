"""GET /healthz, GET /metrics, structured logs without secrets or texts, and the OpenAPI document."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from service.logs import JsonFormatter


def test_healthz(client: Any) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "model": "0.0.0-fake"}


def test_metrics_prometheus_text(client: Any, tokens: Any, helpers: Any) -> None:
    client.post("/v1/classify", json={"items": [{"text": "we asked"}]}, headers=tokens["uploader"])
    client.get("/v1/records/", headers=tokens["viewer"])
    content = "text,team\nwe asked,EMEA\n,EMEA\n"
    helpers.wait_batch(client, helpers.upload(client, content, tokens["uploader"]).json()["id"], tokens["uploader"])
    r = client.get("/metrics", headers=tokens["admin"])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    assert 'vocml_http_requests_total{method="POST",route="/v1/classify",status="200"} 1' in text
    assert 'vocml_http_request_duration_seconds_bucket{method="POST",route="/v1/classify",le="+Inf"} 1' in text
    assert "vocml_batch_rows_stored_total 1" in text
    assert "vocml_batch_rows_rejected_total 1" in text
    assert "vocml_texts_classified_total 2" in text
    for line in text.splitlines():
        assert line.startswith("#") or line.startswith("vocml_"), line


def test_logs_are_json_without_secrets_or_texts(client: Any, tokens: Any, caplog: pytest.LogCaptureFixture) -> None:
    secret = tokens["uploader"]["Authorization"].split()[1]
    with caplog.at_level(logging.INFO, logger="vocml"):
        client.post(
            "/v1/classify?debug=1", json={"items": [{"text": "a very private sentence"}]}, headers=tokens["uploader"]
        )
    lines = [JsonFormatter().format(rec) for rec in caplog.records]
    request_lines = [json.loads(line) for line in lines if '"event": "request"' in line]
    assert request_lines and request_lines[-1]["route"] == "/v1/classify"
    assert request_lines[-1]["token"] == "uploader" and request_lines[-1]["status"] == 200
    for line in lines:
        assert secret not in line and "private sentence" not in line and "debug" not in line


def test_every_route_has_a_summary(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
    assert "multipart/form-data" in spec["paths"]["/v1/batches"]["post"]["requestBody"]["content"]


def test_unknown_route_and_method_are_problems(client: Any, helpers: Any) -> None:
    helpers.assert_problem(client.get("/v1/nothing-here"), 404)
    helpers.assert_problem(client.put("/healthz"), 405)


def test_metrics_sum_every_worker_process(tmp_path: Any) -> None:
    """Two workers' counts: /metrics from either one shows the total."""
    from service.metrics import Metrics, MetricsShare

    a, b = Metrics(), Metrics()
    share_a, share_b = MetricsShare(tmp_path, a), MetricsShare(tmp_path, b)
    for _ in range(3):
        a.observe_request("POST", "/v1/classify", 200, 0.004)
    a.add_classified(3)
    b.observe_request("POST", "/v1/classify", 200, 0.02)
    b.observe_request("GET", "/v1/teams", 401, 0.001)
    b.add_batch_rows(90, 10)
    share_a.publish()
    text = share_b.render()
    assert 'vocml_http_requests_total{method="POST",route="/v1/classify",status="200"} 4' in text
    assert 'vocml_http_requests_total{method="GET",route="/v1/teams",status="401"} 1' in text
    assert 'vocml_http_request_duration_seconds_count{method="POST",route="/v1/classify"} 4' in text
    assert 'vocml_http_request_duration_seconds_bucket{method="POST",route="/v1/classify",le="0.005"} 3' in text
    assert "vocml_texts_classified_total 93" in text  # 3 classified + 90 batch rows stored
    assert "vocml_batch_rows_stored_total 90" in text
    assert "vocml_batch_rows_rejected_total 10" in text
    # b's own counts are live; a's as last published
    a.add_classified(5)
    assert "vocml_texts_classified_total 93" in share_b.render()
    share_a.publish()
    assert "vocml_texts_classified_total 98" in share_b.render()
    # a damaged file is skipped, not fatal
    (tmp_path / "999-dead.json").write_text("{not json", encoding="utf-8")
    assert "vocml_texts_classified_total 98" in share_b.render()
    MetricsShare.clear(tmp_path)
    assert not list(tmp_path.glob("*.json"))


def test_two_apps_on_one_directory_report_together(
    settings: Any, make_client: Any, fake_classifier: Any, helpers: Any
) -> None:
    first = make_client(settings, fake_classifier)
    second = make_client(settings, fake_classifier)
    tokens = helpers.make_tokens(first)
    for _ in range(4):
        first.get("/v1/teams", headers=tokens["viewer"])
    first.app.state.metrics_share.publish()  # what its background task does every 2 s
    text = second.get("/metrics", headers=tokens["admin"]).text
    assert 'vocml_http_requests_total{method="GET",route="/v1/teams",status="200"} 4' in text
