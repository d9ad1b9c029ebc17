"""The sales leads' dashboard in a real headless Chromium (issues 4 and 5).

Each test signs in through the page, works as a lead would, and saves a screenshot per step under
test-artifacts/browser/.
"""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import pytest

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 800}
Server = Any  # tests/browser/conftest.py: url, database_url, tokens, api()

NEEDS = [
    "Discovery call: asked about their goals, current process and three pains; summarised back, agreed next steps.",
    "The rep listened first and asked what success looks like for our team before recommending anything.",
    "She asked who is affected and what we had tried, then suggested a smaller plan that fits.",
]
PITCH = [
    "The rep pushed a discount before asking anything about our needs. Felt sold to.",
    "Forty minute feature demo, then pressure to sign by Friday for the end of quarter price.",
    "Nobody asked what we actually needed; it was all about their roadmap and upsell bundles.",
]


def seed_csv() -> str:
    """North: needs-first call notes, pitch-first customer comments, two months; South-Hidden: a few rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "team", "source", "created_at", "text"])
    n = 0
    for month in ("09", "10"):
        for day, text in enumerate(NEEDS, start=2):
            n += 1
            writer.writerow([f"s{n}", "North", "call_note", f"2026-{month}-{day:02d}T09:00:00Z", text])
        for day, text in enumerate(PITCH, start=6):
            n += 1
            writer.writerow([f"s{n}", "North", "customer_comment", f"2026-{month}-{day:02d}T09:00:00Z", text])
    for day, text in enumerate(NEEDS[:2] + PITCH[:1], start=3):
        n += 1
        writer.writerow([f"s{n}", "South-Hidden", "customer_comment", f"2026-10-{day:02d}T09:00:00Z", text])
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(server: Server) -> Server:
    r = server.api("POST", "/v1/batches", server.tokens["admin"], files={"file": ("seed.csv", seed_csv(), "text/csv")})
    assert r.status_code in (200, 202), r.text
    deadline = time.monotonic() + 120
    while True:
        batch = server.api("GET", f"/v1/batches/{r.json()['id']}", server.tokens["admin"]).json()
        if batch["status"] in ("done", "failed"):
            break
        assert time.monotonic() < deadline, batch
        time.sleep(0.2)
    assert batch["status"] == "done" and batch["rows_stored"] == 15, batch
    return server


def sign_in(page: Any, server: Server, kind: str, target: str = "/") -> None:
    page.goto(server.url + target)
    page.wait_for_url(re.compile(r"/signin\?next="))
    page.get_by_label("Token").fill(server.tokens[kind])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("text=Signed in as")


def test_sign_in_with_token_then_sign_out(seeded: Server, new_page, shot) -> None:
    page = new_page()
    page.goto(seeded.url + "/")
    page.wait_for_url(re.compile(r"/signin"))
    shot(page, "signin")
    page.get_by_label("Token").fill("vocml_wrong")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("text=Sign-in failed")
    shot(page, "signin-failed")
    sign_in(page, seeded, "viewer")
    assert page.url.rstrip("/") == seeded.url
    cookie = next(c for c in page.context.cookies() if c["name"] == "vocml_session")
    assert cookie["httpOnly"] and seeded.tokens["viewer"] not in cookie["value"]
    shot(page, "overview")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin"))
    assert not [c for c in page.context.cookies() if c["name"] == "vocml_session"]
    page.goto(seeded.url + "/teams/North")
    page.wait_for_url(re.compile(r"/signin\?next="))
    shot(page, "signed-out")


@pytest.mark.parametrize("form", ["/#token=", "/?token="])
def test_one_time_link_signs_in_and_drops_the_token(seeded: Server, new_page, shot, form: str) -> None:
    page = new_page()
    page.goto(f"{seeded.url}{form}{seeded.tokens['viewer']}")
    page.wait_for_selector("text=Signed in as")
    assert "token=" not in page.url
    shot(page, "overview")


def test_upload_a_file_and_watch_it_finish(seeded: Server, new_page, shot, tmp_path) -> None:
    path = tmp_path / "upload.csv"
    path.write_text(
        "id,team,source,created_at,text\n"
        "u1,West,call_note,2026-10-20T10:00:00Z,Asked about their goals and pains first and listened.\n"
        "u2,West,customer_comment,2026-10-21T10:00:00Z,\n"
        "u3,West,customer_comment,2026-10-22T10:00:00Z,They pushed a discount to sign by Friday.\n"
        "u4,,call_note,2026-10-22T10:00:00Z,No team on this row.\n",
        encoding="utf-8",
    )
    page = new_page()
    sign_in(page, seeded, "uploader", "/upload")
    page.get_by_label("File (CSV or JSONL)").set_input_files(str(path))
    shot(page, "chosen")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_selector("#progress-box:not([hidden])")
    shot(page, "progress")
    page.wait_for_function("document.getElementById('batch-status').textContent === 'done'", timeout=60_000)
    counts = page.locator("#batch-counts").inner_text()
    assert "2 stored" in counts and "2 rejected" in counts, counts
    table = page.locator("table.errors").inner_text()
    assert "3" in table and "5" in table  # file line numbers of the two bad rows
    assert page.locator("progress").get_attribute("value") == "100"
    shot(page, "done")


def test_every_rejected_row_can_be_listed(seeded: Server, new_page, shot, tmp_path) -> None:
    path = tmp_path / "many-bad.csv"
    bad = "".join(f"b{i},West,call_note,2026-10-20,\n" for i in range(130))
    path.write_text("id,team,source,created_at,text\ng1,West,call_note,2026-10-20,Asked about goals.\n" + bad)
    page = new_page()
    sign_in(page, seeded, "uploader", "/upload")
    page.get_by_label("File (CSV or JSONL)").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_function("document.getElementById('batch-status').textContent === 'done'", timeout=60_000)
    assert page.locator("table.errors tbody tr").count() == 100
    page.get_by_role("button", name=re.compile("Show more rejected rows")).click()
    page.wait_for_function("document.querySelectorAll('table.errors tbody tr').length === 130")
    assert page.locator("#more-errors").count() == 0
    assert page.locator("table.errors tbody tr").last.inner_text().startswith("132")  # file line of the last row
    shot(page, "all-rejected-rows")


def test_overview_and_chart_show_the_right_teams(seeded: Server, new_page, shot) -> None:
    page = new_page()
    sign_in(page, seeded, "admin", "/?period=month")
    rows = page.locator("ol#overview li.team-card a.tc-name").all_inner_texts()
    assert "North" in rows and "South-Hidden" in rows
    north = page.locator("ol#overview li.team-card", has_text="North").inner_text()
    assert "%" in north and re.search(r"(up|down|flat|no previous)", north)
    assert page.locator("section.headline").is_visible()
    shot(page, "overview")
    page.get_by_role("link", name="Share").click()  # sortable by share
    page.wait_for_url(re.compile(r"sort=share"))
    page.get_by_role("link", name="North", exact=True).click()
    page.wait_for_selector("figure.chart svg.plot.wide")
    assert page.locator("figure.chart").first.locator("svg.wide .marker").count() >= 2
    marker = page.locator("figure.chart svg.wide .marker").first
    title = marker.get_attribute("data-tip") or ""
    assert "needs-first" in title and "n=" in title
    top = page.locator("figure.chart svg.wide .series").last.locator(".marker").first  # the one drawn on top
    top.hover()  # the counts in a styled tooltip
    tip = page.locator("#chart-tip")
    tip.wait_for()
    assert tip.inner_text() == top.get_attribute("data-tip") and "n=" in tip.inner_text()
    assert page.get_by_text("Error-adjusted share").first.is_visible()
    assert page.locator("table.trend").first.is_visible()
    shot(page, "team")
    page.get_by_role("link", name="Compare with other teams").click()
    page.get_by_label("South-Hidden").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_function("document.querySelectorAll('.multiples figure.chart').length === 2")
    shot(page, "compare")
    phone = new_page(PHONE)
    sign_in(phone, seeded, "admin", "/teams/North?period=month")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, width  # no sideways scrolling on a phone
    shot(phone, "team-phone")


def test_drill_down_and_correct_a_label(seeded: Server, new_page, shot) -> None:
    page = new_page(DESKTOP)
    sign_in(page, seeded, "uploader", "/teams/North?period=month")

    def september_counts() -> dict[str, int]:
        row = page.locator("table.trend").first.locator("tbody tr", has_text="2026-09-01")
        return {lab: int(row.locator(f'td[data-label="{lab}"]').inner_text()) for lab in ("needs_first", "pitch_first")}

    before = september_counts()
    shot(page, "team-before")
    page.locator("table.trend").first.get_by_role("link", name="2026-09-01").click()  # the period's records
    page.wait_for_selector("li.record")
    assert page.locator("li.record mark").count() > 0
    assert page.locator("li.record").first.get_by_text("Behaviours:").is_visible()
    cue = page.locator("li.record span.cue").first  # behaviours in plain words, the rule on hover
    if cue.count():
        assert "_" not in cue.inner_text() and len(cue.get_attribute("title") or "") > 20
    page.get_by_label("Label", exact=True).select_option("pitch_first")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"label=pitch_first"))
    shot(page, "drill-down")
    record = page.locator("li.record").first
    record.get_by_label("Correct label").select_option("needs_first")
    record.get_by_role("button", name="Save label").click()
    record.get_by_text("Saved: now needs-first").wait_for()
    shot(page, "corrected")
    page.goto(seeded.url + "/teams/North?period=month")
    after = september_counts()
    assert after["needs_first"] == before["needs_first"] + 1 and after["pitch_first"] == before["pitch_first"] - 1
    shot(page, "team-after")


def test_team_limited_token_never_sees_another_team(seeded: Server, new_page, shot) -> None:
    page = new_page()
    sign_in(page, seeded, "uploader_north")
    for path in ("/", "/compare?team=North", "/teams/North", "/teams/North/records", "/scorecard", "/upload", "/model"):
        page.goto(seeded.url + path)
        content = page.content()
        assert "South" not in content and "West" not in content, path
        shot(page, path.strip("/").replace("/", "_").split("?")[0] or "overview")
    page.goto(seeded.url + "/teams/South-Hidden")
    assert "Forbidden" in page.content()
    assert "South-Hidden" not in page.locator("main").inner_text()
    shot(page, "forbidden")


def test_fill_a_scorecard_and_see_it_beside_the_trend(seeded: Server, new_page, shot) -> None:
    page = new_page()
    sign_in(page, seeded, "uploader", "/scorecard?team=North")
    assert page.get_by_text("Customers can repeat our promise").is_visible()
    page.get_by_label("Period starting").fill("2026-10-01")
    page.get_by_role("button", name="Save scorecard").click()
    page.get_by_text("Not saved").wait_for()
    assert page.locator("#err-promise").inner_text().startswith("missing")
    shot(page, "errors")
    for fieldset in page.locator("fieldset.habit").all():
        fieldset.locator("input[value='4']").check()
    assert "28 of 28" in page.locator("#sc-total").inner_text()
    page.get_by_role("button", name="Save scorecard").click()
    page.get_by_text("Saved: 28/28").wait_for()
    shot(page, "saved")
    page.get_by_role("link", name="See it beside the trend").click()
    page.wait_for_selector("#scorecards")
    section = page.locator("#scorecards").inner_text()
    assert "28/28" in section and "Says and does disagree" in section and "customers' comments" in section
    assert page.locator("#scorecards figure.chart svg.plot.wide").count() == 2  # by source, and says vs does
    shot(page, "beside-trend")
    phone = new_page(PHONE)
    sign_in(phone, seeded, "uploader", "/teams/North?period=month")
    phone.locator("#scorecards").scroll_into_view_if_needed()
    shot(phone, "beside-trend-phone")


def test_rows_skipped_as_duplicates_are_listed_by_line(seeded: Server, new_page, shot, tmp_path) -> None:
    first = tmp_path / "week1.csv"
    first.write_text("id,team,source,created_at,text\ndup1,West,call_note,2026-10-20,Asked about goals first.\n")
    second = tmp_path / "week2.csv"
    second.write_text(
        "id,team,source,created_at,text\n"
        "dup2,West,call_note,2026-10-27,Listened before any demo.\n"
        "dup1,West,call_note,2026-10-20,Asked about goals first (again from last week's export).\n"
    )
    page = new_page()
    sign_in(page, seeded, "uploader", "/upload")
    for path in (first, second):
        page.goto(seeded.url + "/upload")  # a fresh form: the status shown belongs to this upload
        page.get_by_label("File (CSV or JSONL)").set_input_files(str(path))
        page.get_by_role("button", name="Upload").click()
        page.wait_for_function("document.getElementById('batch-status').textContent === 'done'", timeout=60_000)
    assert "1 duplicates" in page.locator("#batch-counts").inner_text()
    table = page.locator("table.errors", has_text="Skipped: id already stored")
    assert table.locator("tbody tr").count() == 1
    row = table.locator("tbody tr").first.inner_text()
    assert row.startswith("3") and "dup1" in row  # file line 3, the id named
    shot(page, "duplicates-listed")
