"""Dashboard pages with TestClient: sign-in redirects, team isolation in the HTML, the views' content."""

from __future__ import annotations

import re
from typing import Any

import pytest

from service.charts import ChartPoint, Series, line_chart
from service.dashboard_views import highlight, parse_view, period_end
from vocml.errors import ConfigError

HTML = {"Accept": "text/html"}

ROWS = [
    # team, source, created_at, text (the fake classifier: "asked" -> needs_first, "discount" -> pitch_first)
    ("EMEA", "customer_comment", "2026-02-03T10:00:00Z", "They asked about our goals first"),
    ("EMEA", "customer_comment", "2026-02-04T10:00:00Z", "Pushed a discount on day one"),
    ("EMEA", "call_note", "2026-02-05T10:00:00Z", "asked about current process, 3 pains"),
    ("EMEA", "call_note", "2026-03-03T10:00:00Z", "disc 15% if they sign EOQ, discount"),
    ("EMEA", "customer_comment", "2026-03-04T10:00:00Z", "Another discount pitch, maybe"),
    ("EMEA", "customer_comment", "2026-03-05T10:00:00Z", "The rep asked and listened"),
    ("EMEA", "customer_comment", "2026-03-06T10:00:00Z", "Only talked about the discount"),
    ("APAC-Secret", "call_note", "2026-03-06T10:00:00Z", "asked what they needed"),
    ("APAC-Secret", "customer_comment", "2026-03-07T10:00:00Z", "discount discount"),
]


def csv_text(rows: list[tuple[str, str, str, str]] = ROWS) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "team", "source", "created_at", "text"])
    writer.writerows([f"r{i}", *row] for i, row in enumerate(rows))
    return out.getvalue()


@pytest.fixture
def loaded(client, tokens, helpers) -> Any:
    r = helpers.upload(client, csv_text(), tokens["admin"])
    assert r.status_code == 202, r.text
    batch = helpers.wait_batch(client, r.json()["id"], tokens["admin"])
    assert batch["rows_stored"] == len(ROWS), batch
    return client


def sign_in(client, tokens, kind: str) -> None:
    secret = tokens[kind]["Authorization"].split()[1]
    r = client.post("/v1/session", json={"token": secret})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "path", ["/", "/teams/EMEA", "/teams/EMEA/records", "/upload", "/model", "/scorecard", "/compare", "/review"]
)
def test_pages_redirect_to_sign_in_without_session(client, path) -> None:
    r = client.get(path, headers=HTML, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/signin?next=")


def test_sign_in_page_and_one_time_link(client) -> None:
    r = client.get("/signin", headers=HTML)
    assert r.status_code == 200 and '<label for="token">' in r.text
    r = client.get("/?token=vocml_abc", headers=HTML)
    assert r.status_code == 200 and 'id="signin"' in r.text
    assert "vocml_abc" not in r.text  # the script reads it from the URL; it is never echoed


def test_sign_out_ends_the_session(loaded, tokens) -> None:
    sign_in(loaded, tokens, "viewer")
    assert loaded.get("/", headers=HTML).status_code == 200
    assert loaded.delete("/v1/session").status_code == 204
    assert loaded.get("/", headers=HTML, follow_redirects=False).status_code == 303


def _card(html: str, team: str) -> str:
    """The overview card of ``team``."""
    found = re.search(
        rf'<li class="team-card">\s*<div class="tc-head">.*?'
        rf'<a class="tc-name" href="/teams/{team}\?[^"]*">{team}</a>(.*?)</li>',
        html,
        re.S,
    )
    assert found is not None, team
    return found.group(1)


def test_overview_lists_visible_teams_with_share_change_and_gap(loaded, tokens) -> None:
    sign_in(loaded, tokens, "viewer")
    r = loaded.get("/?period=month", headers=HTML)
    assert r.status_code == 200, r.text
    assert "EMEA" in r.text and "APAC-Secret" in r.text
    cells = _card(r.text, "EMEA")
    # March: needs 1 / (needs 1 + pitch 3) = 25%; February: 2 / 3 = 67%
    assert "25%" in cells and "down" in cells and "not significant" in cells
    assert 'class="change neutral"' in cells  # a change that is not significant is not coloured
    assert "pts" in cells  # say-do gap present (both sources in March)
    assert '<svg class="spark"' in cells and 'class="line" d="M' in cells  # the share over the range


def test_overview_headline_says_the_share_change_and_whether_it_is_real(loaded, tokens) -> None:
    sign_in(loaded, tokens, "viewer")
    r = loaded.get("/?period=month", headers=HTML)
    headline = re.search(r'<section class="headline card ([^"]+)"(.*?)</section>', r.text, re.S)
    assert headline is not None
    # all teams together, March: needs 2 (EMEA 1, APAC 1) of 2 + 4 pitch = 33%; February 2 of 3 = 67%
    assert headline.group(1) == "neutral"
    assert "33%" in headline.group(2) and "your 2 teams" in headline.group(2)
    assert "down 33 points from 67% the month before" in headline.group(2)
    assert "no clear change" in headline.group(2)


def test_overview_drivers_name_the_behaviour_with_examples_linked_to_its_records(loaded, tokens) -> None:
    sign_in(loaded, tokens, "viewer")
    r = loaded.get("/?period=month", headers=HTML)
    panel = re.search(r'<section class="drivers card"(.*?)</section>', r.text, re.S)
    assert panel is not None
    text = panel.group(1)
    # March against February: "discount or price push" found in 4 of 6 records (67%) against 1 of 3 (33%)
    assert "discount or price push" in text and "rose +33.3 pts" in text
    assert "4 records (66.7%) against 1 (33.3%)" in text
    link = re.search(r'<a href="(/teams/EMEA/records\?[^"]*cue=price_push[^"]*)">“([^”]+)”</a>', text)
    assert link is not None and "discount" in link.group(2).lower()
    records = loaded.get(link.group(1).replace("&amp;", "&"), headers=HTML)
    assert records.status_code == 200
    shown = re.findall(r'<li class="record" id="record-(\d+)">(.*?)</li>', records.text, re.S)
    assert shown and all("discount" in body.lower() for _, body in shown)  # only records with that behaviour


def test_overview_sort_and_range_in_url(loaded, tokens) -> None:
    sign_in(loaded, tokens, "viewer")
    r = loaded.get("/?period=week&sort=records&dir=desc&start=2026-03-01&end=2026-03-31", headers=HTML)
    assert r.status_code == 200
    teams = re.findall(r'<a class="tc-name" href="/teams/([^?]+)\?', r.text)
    assert teams == ["EMEA", "APAC-Secret"]
    assert 'value="2026-03-01"' in r.text and "period=week" in r.text
    r = loaded.get("/?period=year", headers=HTML)
    assert r.status_code == 422 and "period must be" in r.text


def test_biggest_movers_first_is_one_click(loaded, tokens) -> None:
    sign_in(loaded, tokens, "viewer")
    r = loaded.get("/?period=month", headers=HTML)
    link = re.search(r'<a href="(/\?[^"]*sort=movers[^"]*)"[^>]*>Biggest movers', r.text)
    assert link is not None
    r = loaded.get(link.group(1).replace("&amp;", "&"), headers=HTML)
    # EMEA moved (-42 pts); APAC has no previous month, so it comes after
    assert re.findall(r'<a class="tc-name" href="/teams/([^?]+)\?', r.text) == ["EMEA", "APAC-Secret"]


def test_period_defaults_to_weeks_for_ranges_under_three_months(loaded, tokens) -> None:
    sign_in(loaded, tokens, "viewer")
    r = loaded.get("/", headers=HTML)  # the records span February 3 to March 7
    assert r.status_code == 200
    assert "week of 2026-03-02" in r.text and "By week: the range is under three months" in r.text
    assert "period=week" not in r.text  # links keep choosing by the range
    r = loaded.get("/?start=2025-01-01&end=2026-12-31", headers=HTML)
    assert "week of" in r.text  # the days with records decide, not the empty ends of the range


def test_team_limited_token_never_sees_other_team_names(loaded, tokens) -> None:
    sign_in(loaded, tokens, "uploader_emea")
    for path in [
        "/",
        "/teams/EMEA",
        "/teams/EMEA/records",
        "/compare?team=EMEA",
        "/scorecard",
        "/upload",
        "/model",
        "/review",
    ]:
        r = loaded.get(path, headers=HTML)
        assert r.status_code == 200, (path, r.text)
        assert "APAC" not in r.text, path
    for path in [
        "/teams/APAC-Secret",
        "/teams/APAC-Secret/records",
        "/compare?team=APAC-Secret",
        "/scorecard?team=APAC-Secret",
        "/review?team=APAC-Secret",
    ]:
        r = loaded.get(path, headers=HTML)
        assert r.status_code == 403, path
        assert "APAC" not in r.text, path


def test_team_page_has_chart_table_and_adjusted_line(loaded, tokens) -> None:
    sign_in(loaded, tokens, "viewer")
    r = loaded.get("/teams/EMEA?period=month", headers=HTML)
    assert r.status_code == 200, r.text
    assert r.text.count("<svg") >= 2 and "<title>EMEA, period from 2026-03-01: 25% needs-first" in r.text
    assert "Error-adjusted share" in r.text  # the fake card has a confusion matrix
    assert "Customers&#39; comments" in r.text and "Call notes" in r.text
    assert 'href="/teams/EMEA/records?period=month&amp;start=2026-03-01&amp;end=2026-03-31"' in r.text


def test_records_page_highlights_evidence_and_filters(loaded, tokens) -> None:
    sign_in(loaded, tokens, "uploader")
    r = loaded.get("/teams/EMEA/records", headers=HTML)
    assert r.status_code == 200
    assert re.search(r'<mark class="w3">asked</mark>', r.text) and re.search(
        r'<mark class="w3">discount</mark>', r.text
    )
    assert r.text.index("The rep ") < r.text.index("They ")  # newest first
    assert 'class="review"' in r.text
    r = loaded.get("/teams/EMEA/records?label=needs_first&source=customer_comment&q=rep", headers=HTML)
    assert "The rep " in r.text and "They " not in r.text
    assert "/v1/export.csv?team=EMEA&amp;label=needs_first&amp;source=customer_comment&amp;q=rep" in r.text
    r = loaded.get("/teams/EMEA/records?uncertain=yes", headers=HTML)
    assert "maybe" in r.text and "The rep " not in r.text


def test_viewer_gets_no_review_form(loaded, tokens) -> None:
    sign_in(loaded, tokens, "viewer")
    r = loaded.get("/teams/EMEA/records", headers=HTML)
    assert 'class="review"' not in r.text
    assert "Save scorecard" not in loaded.get("/scorecard", headers=HTML).text


def test_review_changes_the_team_counts_on_reload(loaded, tokens) -> None:
    sign_in(loaded, tokens, "uploader")
    page = loaded.get("/teams/EMEA/records?q=Another", headers=HTML).text
    record_id = re.search(r'data-record="(\d+)"', page).group(1)
    before = loaded.get("/teams/EMEA?period=month", headers=HTML).text
    assert loaded.post(f"/v1/records/{record_id}/review", json={"label": "needs_first"}).status_code == 200
    after = loaded.get("/teams/EMEA?period=month", headers=HTML).text
    assert before != after and "50% <span" in after  # March: 2 needs-first of 4


def test_scorecard_page_and_team_view_show_disagreement(loaded, tokens) -> None:
    sign_in(loaded, tokens, "uploader")
    r = loaded.get("/scorecard?team=EMEA", headers=HTML)
    assert r.status_code == 200
    assert r.text.count('type="radio"') == 35 and "Customers can repeat our promise" in r.text
    scores = {
        k: 4
        for k in (
            "promise",
            "services_bundled",
            "website",
            "easy_contact",
            "telephone",
            "one_contact",
            "service_wanted",
        )
    }
    assert (
        loaded.post("/v1/teams/EMEA/scorecards", json={"period_start": "2026-03-01", "scores": scores}).status_code
        == 201
    )
    r = loaded.get("/teams/EMEA?period=month", headers=HTML)
    assert "28/28" in r.text and "Says and does disagree" in r.text and "customers&#39; comments" in r.text


def test_model_page_shows_card(loaded, tokens) -> None:
    sign_in(loaded, tokens, "viewer")
    r = loaded.get("/model", headers=HTML)
    assert r.status_code == 200 and "0.0.0-fake" in r.text and "Confusion matrix" in r.text


def test_static_assets_are_served(client) -> None:
    assert client.get("/static/app.css").status_code == 200
    assert "api(" in client.get("/static/app.js").text


def test_parse_view_and_period_end() -> None:
    assert parse_view(None, None, None).period == "month"
    with pytest.raises(ConfigError):
        parse_view("month", "2026-03-02", "2026-03-01")
    with pytest.raises(ConfigError):
        parse_view("month", "yesterday", None)
    from datetime import date

    assert period_end(date(2026, 2, 1), "month") == date(2026, 2, 28)
    assert period_end(date(2026, 3, 2), "week") == date(2026, 3, 8)


def test_highlight_uses_offsets_skips_overlaps_and_shades_by_weight() -> None:
    pieces = highlight(
        "we asked and listened",
        [
            {"start": 3, "end": 8, "weight": 2.0},
            {"start": 5, "end": 12, "weight": 1.0},
            {"start": 13, "end": 21, "weight": 0.5},
        ],
    )
    assert pieces == [("we ", 0), ("asked", 3), (" and ", 0), ("listened", 1)]  # the weaker, the lighter


def test_line_chart_geometry() -> None:
    from datetime import date

    chart = line_chart(
        [Series("a", [ChartPoint(date(2026, 1, 1), 0.5, 0.4, 0.6, "t"), ChartPoint(date(2026, 2, 1), None)])],
        title="x",
    )
    assert not chart.empty and chart.series[0]["markers"][0]["title"] == "t"
    assert len(chart.series[0]["bands"]) == 1
    assert line_chart([], title="x").empty


def test_tick_labels_are_spaced_so_they_cannot_touch() -> None:
    from datetime import date, timedelta

    from service.charts import CHAR_W, NARROW

    weeks = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(60)]
    chart = line_chart([Series("a", [ChartPoint(d, 0.5) for d in weeks])], title="x", period="week")
    for layout in (chart, chart.narrow):
        assert layout is not None
        xs = [float(t["x"]) for t in layout.x_ticks]
        widest = max(len(t["label"]) for t in layout.x_ticks) * CHAR_W
        assert len(xs) >= 2 and all(b - a >= widest + 2 * CHAR_W - 0.1 for a, b in zip(xs, xs[1:], strict=False))
        assert all(layout.left + widest / 2 - 0.1 <= x <= layout.right - widest / 2 + 0.1 for x in xs)
    assert chart.narrow is not None and chart.narrow.width == NARROW[0]
    assert len(chart.narrow.x_ticks) < len(chart.x_ticks)  # fewer labels on a phone
    assert chart.x_ticks[0]["label"] == "Jan 5" and chart.x_ticks[0]["full"] == "2026-01-05"


def test_pages_escape_team_names_and_texts(client, tokens, helpers) -> None:
    rows = [("<b onmouseover=alert(1)>Evil", "call_note", "2026-03-03T10:00:00Z", "<script>alert(1)</script> asked")]
    r = helpers.upload(client, csv_text(rows), tokens["admin"])
    helpers.wait_batch(client, r.json()["id"], tokens["admin"])
    sign_in(client, tokens, "admin")
    team = "%3Cb%20onmouseover%3Dalert(1)%3EEvil"
    for path in ["/", f"/teams/{team}", f"/teams/{team}/records"]:
        page = client.get(path, headers=HTML)
        assert page.status_code == 200, path
        assert "<b onmouseover" not in page.text and "<script>alert" not in page.text, path
        assert "&lt;b onmouseover=alert(1)&gt;Evil" in page.text, path


def test_scorecard_falls_back_to_all_records_when_customers_were_silent_that_period() -> None:
    """Customer comments only in an earlier month must not hide the current month's call notes."""
    from datetime import date

    from service.dashboard_views import TeamTrend, scorecard_rows

    def point(start: date, nf: int, pf: int) -> dict:
        share = nf / (nf + pf) if nf + pf else None
        return {
            "start": start,
            "needs_first_share": share,
            "counts": {"needs_first": nf, "pitch_first": pf, "no_signal": 0},
        }

    trend = TeamTrend(
        team="North",
        points=[point(date(2026, 9, 1), 1, 3), point(date(2026, 10, 1), 4, 1)],
        by_source={
            "customer_comment": [point(date(2026, 9, 1), 1, 3)],
            "call_note": [point(date(2026, 10, 1), 4, 1)],
        },
        adjusted=False,
    )
    card = {"period_start": date(2026, 10, 1), "total": 27, "band": {"key": "want_to_buy"}, "scores": {}}
    (row,) = scorecard_rows([card], trend, "month")
    assert row["source_label"] == "all records"
    assert row["measured"] is not None and row["measured"].start == date(2026, 10, 1)
