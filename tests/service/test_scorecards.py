"""``/v1/teams/{team}/scorecards``: validation, access control and team isolation (issue 5)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from service.scorecards import MeasuredPoint, current_per_period, disagreement, measured_at
from vocml.scorecard import HABIT_KEYS

GOOD = {key: 3 for key in HABIT_KEYS}  # total 21: "doing well"


def body(**overrides: Any) -> dict[str, Any]:
    return {"period_start": "2026-03-01", "scores": dict(GOOD), "note": "first try", **overrides}


def test_scorecard_post_then_get_history(client, tokens, helpers) -> None:
    r = client.post("/v1/teams/EMEA/scorecards", json=body(), headers=tokens["uploader_emea"])
    assert r.status_code == 201, r.text
    card = r.json()
    assert card["team"] == "EMEA" and card["total"] == 21 and card["band"]["key"] == "doing_well"
    assert card["do_more"] == list(HABIT_KEYS)
    assert card["created_by"] == "uploader_emea" and card["note"] == "first try"
    r = client.post(
        "/v1/teams/EMEA/scorecards",
        json=body(period_start="2026-02-01", scores={k: 4 for k in HABIT_KEYS}, note=None),
        headers=tokens["admin"],
    )
    assert r.status_code == 201, r.text
    r = client.get("/v1/teams/EMEA/scorecards", headers=tokens["viewer_emea"])
    assert r.status_code == 200, r.text
    history = r.json()["scorecards"]
    assert [c["period_start"] for c in history] == ["2026-02-01", "2026-03-01"]
    assert history[0]["band"]["key"] == "want_to_buy" and history[0]["do_more"] == []


@pytest.mark.parametrize(
    ("scores", "fields"),
    [
        ({**GOOD, "promise": 5}, ["scores.promise"]),
        ({**GOOD, "website": -1}, ["scores.website"]),
        ({k: v for k, v in GOOD.items() if k != "telephone"}, ["scores.telephone"]),
        ({**GOOD, "vibes": 2}, ["scores.vibes"]),
        (
            {**GOOD, "promise": "3", "one_contact": 2.5, "easy_contact": True},
            ["scores.promise", "scores.one_contact", "scores.easy_contact"],
        ),
        ({}, [f"scores.{k}" for k in HABIT_KEYS]),
    ],
    ids=["too-high", "negative", "missing", "unknown", "not-integers", "empty"],
)
def test_scorecard_validation_lists_each_bad_habit(client, tokens, helpers, scores, fields) -> None:
    r = client.post("/v1/teams/EMEA/scorecards", json=body(scores=scores), headers=tokens["uploader"])
    problem = helpers.assert_problem(r, 422)
    assert sorted(e["field"] for e in problem["errors"]) == sorted(fields)
    assert all(e["message"] for e in problem["errors"])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"scores": GOOD}, "period_start"),
        ({"period_start": "March", "scores": GOOD}, "period_start"),
        ({"period_start": "2026-03-01", "scores": GOOD, "extra": 1}, "extra"),
        ({"period_start": "2026-03-01", "scores": GOOD, "note": "x" * 2001}, "note"),
        ({"period_start": "2026-03-01", "scores": [1, 2]}, "scores"),
    ],
    ids=["no-period", "bad-date", "extra-field", "long-note", "scores-not-object"],
)
def test_scorecard_request_shape_errors(client, tokens, helpers, payload, field) -> None:
    r = client.post("/v1/teams/EMEA/scorecards", json=payload, headers=tokens["uploader"])
    helpers.assert_problem(r, 422, field=field)


def test_scorecard_access_control(client, tokens, helpers) -> None:
    helpers.assert_problem(client.post("/v1/teams/EMEA/scorecards", json=body()), 401)
    helpers.assert_problem(client.get("/v1/teams/EMEA/scorecards"), 401)
    bad = {"Authorization": "Bearer vocml_not-a-token"}
    helpers.assert_problem(client.get("/v1/teams/EMEA/scorecards", headers=bad), 401)
    # viewers read but never write
    helpers.assert_problem(client.post("/v1/teams/EMEA/scorecards", json=body(), headers=tokens["viewer"]), 403)
    assert client.get("/v1/teams/EMEA/scorecards", headers=tokens["viewer"]).status_code == 200
    assert client.get("/v1/scorecards/rubric", headers=tokens["viewer"]).json()["habits"][0]["key"] == "promise"


def test_scorecard_team_isolation(client, tokens, helpers) -> None:
    r = client.post("/v1/teams/APAC/scorecards", json=body(), headers=tokens["admin"])
    assert r.status_code == 201, r.text
    for kind in ("viewer_emea", "uploader_emea", "admin_emea"):
        problem = helpers.assert_problem(client.get("/v1/teams/APAC/scorecards", headers=tokens[kind]), 403)
        assert "APAC" not in problem["detail"]
    problem = helpers.assert_problem(
        client.post("/v1/teams/APAC/scorecards", json=body(), headers=tokens["uploader_emea"]), 403
    )
    assert "APAC" not in str(problem)
    assert client.get("/v1/teams/EMEA/scorecards", headers=tokens["viewer_emea"]).json()["scorecards"] == []


def test_scorecard_session_cookie_works_like_bearer(client, tokens) -> None:
    secret = tokens["uploader_emea"]["Authorization"].split()[1]
    assert client.post("/v1/session", json={"token": secret}).status_code == 200
    assert client.post("/v1/teams/EMEA/scorecards", json=body()).status_code == 201
    assert client.get("/v1/teams/EMEA/scorecards").json()["scorecards"][0]["total"] == 21


def card(total_scores: dict[str, int], period: str = "2026-03-01") -> dict[str, Any]:
    from service.scorecards import scorecard_out

    return scorecard_out(
        {
            "id": 1,
            "team": "T",
            "period_start": date.fromisoformat(period),
            "scores": total_scores,
            "total": sum(total_scores.values()),
            "note": None,
            "created_by": "x",
            "created_at": None,
        }
    )


def test_disagreement_top_band_low_share() -> None:
    top = card({k: 4 for k in HABIT_KEYS})
    msg = disagreement(top, MeasuredPoint(date(2026, 3, 1), 0.4, 50), source_label="customers' comments")
    assert msg is not None and "28/28" in msg and "40%" in msg and "customers' comments" in msg
    assert disagreement(top, MeasuredPoint(date(2026, 3, 1), 0.6, 50), source_label="x") is None
    assert disagreement(top, None, source_label="x") is None


def test_disagreement_low_band_high_share() -> None:
    low = card({k: 1 for k in HABIT_KEYS})
    msg = disagreement(low, MeasuredPoint(date(2026, 3, 1), 0.8, 50), source_label="all records")
    assert msg is not None and "too harsh" in msg
    assert disagreement(low, MeasuredPoint(date(2026, 3, 1), 0.4, 50), source_label="x") is None


def test_measured_at_and_current_per_period() -> None:
    points = [MeasuredPoint(date(2026, 1, 1), 0.5, 10), MeasuredPoint(date(2026, 2, 1), None, 0)]
    assert measured_at(points, date(2026, 1, 15)) == points[0]
    assert measured_at(points, date(2026, 2, 3)) is None  # the period has no records
    assert measured_at(points, date(2025, 12, 31)) is None
    first, second = card(GOOD), card({k: 4 for k in HABIT_KEYS})
    assert current_per_period([first, second]) == [second]


def test_scorecard_team_names_may_contain_a_slash(client, tokens) -> None:
    r = client.post("/v1/teams/Sales%2FEMEA/scorecards", json=body(), headers=tokens["admin"])
    assert r.status_code == 201, r.text
    assert r.json()["team"] == "Sales/EMEA"
    assert client.get("/v1/teams/Sales%2FEMEA/scorecards", headers=tokens["viewer"]).json()["team"] == "Sales/EMEA"
