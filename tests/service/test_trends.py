"""Trends math (Wilson, adjusted share, say-do gap, two-proportion test) and GET /v1/trends, /v1/teams."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pytest

from service.trends import ErrorModel, period_start, say_do_gap, two_proportion_p, wilson

CONFUSION = {"labels": ["pitch_first", "needs_first", "no_signal"], "matrix": [[80, 10, 10], [20, 70, 10], [5, 5, 90]]}


def test_wilson_known_values() -> None:
    low, high = wilson(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    low, high = wilson(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611, abs=1e-4)
    assert wilson(0, 0) == (None, None)


def test_two_proportion_test_known_value() -> None:
    assert two_proportion_p(60, 100, 40, 100) == pytest.approx(0.00468, abs=1e-4)
    assert two_proportion_p(50, 100, 50, 100) == pytest.approx(1.0)
    assert two_proportion_p(1, 0, 1, 1) is None


def test_say_do_gap_and_interval() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873, example (a): 56/70 vs 48/80, method 10
    out = say_do_gap(56, 70, 48, 80)
    assert out["gap"] == pytest.approx(0.2)
    assert out["ci_low"] == pytest.approx(0.0524, abs=1e-4)
    assert out["ci_high"] == pytest.approx(0.3339, abs=1e-4)
    assert say_do_gap(1, 1, 0, 0)["gap"] is None


def test_periods_start_on_monday_and_first_of_month() -> None:
    assert period_start(date(2026, 1, 11), "week") == date(2026, 1, 5)  # Sunday -> Monday before
    assert period_start(date(2026, 1, 5), "week") == date(2026, 1, 5)
    assert period_start(date(2026, 2, 17), "month") == date(2026, 2, 1)


def test_error_model_recovers_true_proportions_from_a_known_confusion_matrix() -> None:
    model = ErrorModel.from_card_metrics({"confusion": CONFUSION})
    assert model is not None
    # LABELS order is pitch_first, needs_first, no_signal, same as the card here.
    true = np.array([0.3, 0.5, 0.2])
    observed = model.rates.T @ true
    assert model.true_proportions(observed) == pytest.approx(true)
    counts = np.round(observed * 10_000)
    share, low, high = model.adjusted_share(counts, np.zeros(3), draws=300)
    assert share == pytest.approx(0.5 / 0.8, abs=2e-3)
    raw = counts[1] / (counts[0] + counts[1])
    assert abs(raw - 0.625) > 0.02  # the raw share is biased; the adjusted one is not
    assert low is not None and high is not None and low < share < high
    # the interval carries the confusion matrix's own uncertainty: 100x more evaluation data, narrower interval
    big = ErrorModel.from_card_metrics(
        {"confusion": {"labels": CONFUSION["labels"], "matrix": (np.asarray(CONFUSION["matrix"]) * 100).tolist()}}
    )
    assert big is not None
    big_share, big_low, big_high = big.adjusted_share(counts, np.zeros(3), draws=300)
    assert big_share == pytest.approx(share)
    assert big_low is not None and big_high is not None
    assert big_high - big_low < (high - low) / 2
    assert big_high - big_low < 0.06


def test_error_model_reorders_labels_and_adds_reviewed_counts_as_true() -> None:
    shuffled = {
        "labels": ["no_signal", "pitch_first", "needs_first"],
        "matrix": [[90, 5, 5], [10, 80, 10], [10, 20, 70]],
    }
    a = ErrorModel.from_card_metrics({"confusion": shuffled})
    b = ErrorModel.from_card_metrics({"confusion": CONFUSION})
    assert a is not None and b is not None
    assert np.allclose(a.rates, b.rates)
    share, _, _ = b.adjusted_share(np.zeros(3), np.array([1.0, 3.0, 5.0]))
    assert share == pytest.approx(0.75)


@pytest.mark.parametrize(
    "metrics",
    [
        None,
        {},
        {"confusion": {"labels": ["a", "b"], "matrix": [[1, 0], [0, 1]]}},
        {"confusion": {"labels": CONFUSION["labels"], "matrix": [[1, 1, 1], [1, 1, 1], [1, 1, 1]]}},
    ],
    ids=["none", "empty", "wrong-labels", "singular"],
)
def test_error_model_absent_or_unusable(metrics: Any) -> None:
    assert ErrorModel.from_card_metrics(metrics) is None


def rows_csv(rows: list[tuple[str, str, str, str, str]]) -> str:
    return "id,text,team,source,created_at\n" + "".join(",".join(r) + "\n" for r in rows)


def seed(client: Any, tokens: Any, helpers: Any) -> None:
    """EMEA week of 2026-01-05: call notes 6 nf 2 pf; comments 2 nf 4 pf 2 none. Week of 01-12: 1 nf 3 pf."""
    rows = []
    n = 0

    def add(count: int, text: str, source: str, day: str, team: str = "EMEA") -> None:
        nonlocal n
        for _ in range(count):
            n += 1
            rows.append((f"x{n}", f"{text} {n}", team, source, day))

    add(6, "we asked", "call_note", "2026-01-05")
    add(2, "discount", "call_note", "2026-01-06")
    add(2, "we asked", "customer_comment", "2026-01-07")
    add(4, "discount", "customer_comment", "2026-01-11")
    add(2, "invoice", "customer_comment", "2026-01-11")
    add(1, "we asked", "call_note", "2026-01-12")
    add(3, "discount", "call_note", "2026-01-13")
    add(5, "we asked", "call_note", "2026-01-05", team="APAC")
    body = helpers.wait_batch(
        client, helpers.upload(client, rows_csv(rows), tokens["uploader"]).json()["id"], tokens["uploader"]
    )
    assert body["rows_stored"] == len(rows), body


def test_trends_weekly_counts_shares_and_intervals(client: Any, tokens: Any, helpers: Any) -> None:
    seed(client, tokens, helpers)
    r = client.get("/v1/trends?team=EMEA&period=week", headers=tokens["viewer"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["team"], body["period"], body["adjusted"]) == ("EMEA", "week", True)
    first, second = body["points"]
    assert first["start"] == "2026-01-05" and second["start"] == "2026-01-12"
    assert first["counts"] == {"pitch_first": 6, "needs_first": 8, "no_signal": 2}
    assert first["n"] == 16
    assert first["needs_first_share"] == pytest.approx(8 / 14)
    assert (first["ci_low"], first["ci_high"]) == pytest.approx(wilson(8, 14))
    assert first["adjusted_ci_low"] <= first["adjusted_share"] <= first["adjusted_ci_high"]
    assert first["say_do"]["call_note_share"] == pytest.approx(6 / 8)
    assert first["say_do"]["customer_comment_share"] == pytest.approx(2 / 6)
    assert first["say_do"]["gap"] == pytest.approx(6 / 8 - 2 / 6)
    assert second["needs_first_share"] == pytest.approx(1 / 4)


def test_trends_monthly_source_and_range_filters(client: Any, tokens: Any, helpers: Any) -> None:
    seed(client, tokens, helpers)
    month = client.get("/v1/trends?team=EMEA&period=month", headers=tokens["viewer"]).json()
    assert [p["start"] for p in month["points"]] == ["2026-01-01"]
    assert month["points"][0]["n"] == 20
    notes = client.get("/v1/trends?team=EMEA&period=month&source=call_note", headers=tokens["viewer"]).json()
    assert notes["points"][0]["counts"] == {"pitch_first": 5, "needs_first": 7, "no_signal": 0}
    assert notes["points"][0]["say_do"]["customer_comment_share"] is not None  # the gap always uses both sources
    ranged = client.get("/v1/trends?team=EMEA&start=2026-01-12&end=2026-01-31", headers=tokens["viewer"]).json()
    assert [p["start"] for p in ranged["points"]] == ["2026-01-12"]
    empty = client.get("/v1/trends?team=Nowhere", headers=tokens["viewer"]).json()
    assert empty["points"] == []


def test_trends_bad_parameters(client: Any, tokens: Any, helpers: Any) -> None:
    helpers.assert_problem(client.get("/v1/trends", headers=tokens["viewer"]), 422, field="team")
    helpers.assert_problem(client.get("/v1/trends?team=EMEA&period=day", headers=tokens["viewer"]), 422, field="period")
    helpers.assert_problem(
        client.get("/v1/trends?team=EMEA&start=2026-13-01", headers=tokens["viewer"]), 422, field="start"
    )
    helpers.assert_problem(
        client.get("/v1/trends?team=EMEA&start=2026-02-01&end=2026-01-01", headers=tokens["viewer"]), 422
    )


def test_reviews_replace_the_model_label_in_trends(client: Any, tokens: Any, helpers: Any) -> None:
    seed(client, tokens, helpers)
    page = client.get(
        "/v1/records?team=EMEA&label=needs_first&source=call_note&end=2026-01-05", headers=tokens["viewer"]
    ).json()
    target = page["items"][0]
    r = client.post(f"/v1/records/{target['id']}/review", json={"label": "pitch_first"}, headers=tokens["admin"])
    assert r.status_code == 200, r.text
    assert r.json()["label"] == "pitch_first" and r.json()["review"]["reviewed_by"] == "admin"
    first = client.get("/v1/trends?team=EMEA", headers=tokens["viewer"]).json()["points"][0]
    assert first["counts"] == {"pitch_first": 7, "needs_first": 7, "no_signal": 2}
    assert first["reviewed"] == 1
    # reviewing again moves the count from the old review, not from the model label
    client.post(f"/v1/records/{target['id']}/review", json={"label": "no_signal"}, headers=tokens["admin"])
    first = client.get("/v1/trends?team=EMEA", headers=tokens["viewer"]).json()["points"][0]
    assert first["counts"] == {"pitch_first": 6, "needs_first": 7, "no_signal": 3}
    assert first["reviewed"] == 1
    filtered = client.get("/v1/records?team=EMEA&label=no_signal", headers=tokens["viewer"]).json()["items"]
    assert target["id"] in [i["id"] for i in filtered]


def test_teams_latest_share_change_and_significance(client: Any, tokens: Any, helpers: Any) -> None:
    seed(client, tokens, helpers)
    body = client.get("/v1/teams", headers=tokens["viewer"]).json()
    teams = {t["team"]: t for t in body["teams"]}
    assert set(teams) == {"EMEA", "APAC"}
    emea = teams["EMEA"]
    assert emea["records"] == 20
    assert emea["latest_period"] == "2026-01-12"
    assert emea["latest_share"] == pytest.approx(0.25)
    assert emea["previous_share"] == pytest.approx(8 / 14)
    assert emea["change"] == pytest.approx(0.25 - 8 / 14)
    assert emea["p_value"] == pytest.approx(two_proportion_p(1, 4, 8, 14))
    assert emea["significant"] is False
    assert teams["APAC"]["change"] is None
    monthly = client.get("/v1/teams?period=month", headers=tokens["viewer"]).json()
    assert monthly["period"] == "month"


def test_teams_flags_a_significant_change(client: Any, tokens: Any, helpers: Any) -> None:
    rows = [(f"a{i}", f"we asked {i}", "EMEA", "call_note", "2026-02-02") for i in range(60)]
    rows += [(f"b{i}", f"discount {i}", "EMEA", "call_note", "2026-02-03") for i in range(40)]
    rows += [(f"c{i}", f"we asked {i}", "EMEA", "call_note", "2026-02-09") for i in range(20)]
    rows += [(f"d{i}", f"discount {i}", "EMEA", "call_note", "2026-02-10") for i in range(80)]
    helpers.wait_batch(
        client, helpers.upload(client, rows_csv(rows), tokens["uploader"]).json()["id"], tokens["uploader"]
    )
    emea = client.get("/v1/teams", headers=tokens["viewer"]).json()["teams"][0]
    assert emea["change"] == pytest.approx(-0.4)
    assert emea["significant"] is True and emea["p_value"] < 0.05


def test_intervals_do_not_collapse_at_zero_or_one_hundred_percent() -> None:
    """An all-pitch-first period is not certain: every interval keeps a width (Wilson, adjusted, say-do)."""
    import numpy as np

    from service.trends import ErrorModel, say_do_gap, wilson

    low, high = wilson(0, 20)
    assert low == 0.0 and high is not None and high > 0.1
    model = ErrorModel.from_card_metrics(
        {
            "confusion": {
                "labels": ["pitch_first", "needs_first", "no_signal"],
                "matrix": [[80, 10, 10], [10, 80, 10], [5, 5, 90]],
            }
        }
    )
    assert model is not None
    point, a_low, a_high = model.adjusted_share(np.array([20.0, 0.0, 0.0]), np.zeros(3), draws=2000)
    assert point == 0.0 and a_low == 0.0 and a_high is not None and a_high > 0.01
    # every record reviewed: no model error left, the interval is Wilson's
    point, a_low, a_high = model.adjusted_share(np.zeros(3), np.array([20.0, 0.0, 0.0]))
    assert (point, a_low, a_high) == (0.0, *wilson(0, 20))
    gap = say_do_gap(5, 5, 0, 3)
    assert gap["gap"] == 1.0 and gap["ci_low"] is not None and gap["ci_low"] < 0.7 and gap["ci_high"] == 1.0
