"""The dashboard a lead reads at a glance, on a phone (375 px) and a laptop (1280 px), in Debian's Chromium.

Every page: nothing scrolls sideways and no box hides content behind its own sideways scroll; chart tick
labels never overlap and render at 11 px or more; the drivers panel names a behaviour with an example
sentence that opens the matching records; a second upload of the same file says when it went in; the
progress shows rows and percent before the first poll answers. Screenshots of every page at both widths
go to test-artifacts/browser/.
"""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import date, timedelta
from typing import Any

import pytest

from tests.browser.test_dashboard_e2e import seed_csv, sign_in

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 800}
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}
Server = Any

NEEDS = [
    "Discovery call: asked about their goals, current process and three pains; summarised back, agreed next steps.",
    "She asked who is affected and what we had tried, then suggested a smaller plan that fits.",
]
PITCH = [
    "Forty minute feature demo, then pressure to sign by Friday for the end of quarter price.",
    "Walked them through the deck and the roadmap, then a discount if they sign by the end of the quarter.",
]
FIRST_MONDAY = date(2026, 2, 2)
WEEKS = 40


def atlas_csv() -> str:
    """Team Atlas: 40 weeks of mostly needs-first notes, then a pitch-first last week (a long axis and
    behaviours that rise against the week before)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "team", "source", "created_at", "text"])
    for week in range(WEEKS):
        day = FIRST_MONDAY + timedelta(weeks=week)
        texts = PITCH + PITCH[:1] if week == WEEKS - 1 else NEEDS + PITCH[1:]
        for i, text in enumerate(texts):
            source = "call_note" if i % 2 == 0 else "customer_comment"
            writer.writerow([f"a{week}-{i}", "Atlas", source, f"{day + timedelta(days=i)}T10:00:00Z", text])
    return out.getvalue()


def upload_and_wait(server: Server, name: str, content: str) -> dict[str, Any]:
    r = server.api("POST", "/v1/batches", server.tokens["admin"], files={"file": (name, content, "text/csv")})
    assert r.status_code in (200, 202), r.text
    deadline = time.monotonic() + 120
    while True:
        batch = server.api("GET", f"/v1/batches/{r.json()['id']}", server.tokens["admin"]).json()
        if batch["status"] in ("done", "failed"):
            return batch
        assert time.monotonic() < deadline, batch
        time.sleep(0.2)


@pytest.fixture(scope="module")
def data(server: Server) -> Server:
    assert upload_and_wait(server, "seed.csv", seed_csv())["status"] == "done"
    batch = upload_and_wait(server, "atlas.csv", atlas_csv())
    assert batch["status"] == "done" and batch["rows_stored"] == WEEKS * 3, batch
    return server


PAGES = [
    ("overview", "/"),
    ("overview-month", "/?period=month"),
    ("team", "/teams/Atlas"),
    ("records", "/teams/Atlas/records"),
    ("compare", "/compare?team=Atlas&team=North"),
    ("upload", "/upload"),
    ("model", "/model"),
    ("models", "/models"),
    ("scorecard", "/scorecard?team=Atlas"),
    ("review-queue", "/review?team=Atlas&kind=queue"),
    ("review-audit", "/review?team=Atlas&kind=audit"),
    ("signin", "/signin"),
]

SIDEWAYS = """() => {
  const hidden = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (!['auto', 'scroll'].includes(style.overflowX)) continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.getClientRects().length) {
      hidden.push(`${el.tagName.toLowerCase()}.${el.className}: ${el.scrollWidth} > ${el.clientWidth}`);
    }
  }
  return hidden;
}"""

TICKS = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('figure.chart svg.plot')) {
    const box = svg.getBoundingClientRect();
    if (!box.width) continue;  // the other layout, not shown at this width
    const scale = box.width / svg.viewBox.baseVal.width;
    const ticks = [...svg.querySelectorAll('.axis text')].map((t) => {
      const b = t.getBoundingClientRect();
      return {text: t.textContent.trim(), x: t.classList.contains('xtick'), left: b.left, right: b.right,
              top: b.top, bottom: b.bottom, px: parseFloat(getComputedStyle(t).fontSize) * scale};
    });
    out.push({ticks});
  }
  return out;
}"""


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_no_page_scrolls_sideways_and_no_box_hides_content(data: Server, new_page, shot, width: str) -> None:
    page = new_page(WIDTHS[width])
    sign_in(page, data, "admin", "/")
    for name, path in PAGES:
        page.goto(data.url + path)
        page.wait_for_load_state("load")
        page_width = page.evaluate("document.documentElement.scrollWidth")
        assert page_width <= WIDTHS[width]["width"], (path, page_width)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        assert page.evaluate(SIDEWAYS) == [], path
        shot(page, f"{name}-{width}")


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_chart_tick_labels_never_overlap_and_stay_readable(data: Server, new_page, shot, width: str) -> None:
    page = new_page(WIDTHS[width])
    sign_in(page, data, "admin", "/")
    for path in ("/teams/Atlas?period=week", "/teams/Atlas?period=month", "/compare?team=Atlas&team=North&period=week"):
        page.goto(data.url + path)
        charts = page.evaluate(TICKS)
        assert charts, path
        for chart in charts:
            ticks = chart["ticks"]
            x_ticks = [t for t in ticks if t["x"]]
            assert len(x_ticks) >= 2, (path, ticks)
            for t in ticks:
                assert t["px"] >= 11, (path, t)
            x_ticks.sort(key=lambda t: t["left"])
            for a, b in zip(x_ticks, x_ticks[1:], strict=False):
                assert a["right"] <= b["left"], (path, a, b)  # no two labels touch
        shot(page, f"ticks-{path.strip('/').split('?')[0].replace('/', '-')}-{width}")


def test_drivers_panel_names_a_behaviour_with_an_example_linking_to_its_records(data: Server, new_page, shot) -> None:
    page = new_page(DESKTOP)
    sign_in(page, data, "admin", "/?period=week")
    panel = page.locator("section.drivers")
    assert panel.is_visible()
    driver = panel.locator("li.driver.rose").first
    title = driver.locator(".driver-title").inner_text()
    assert title and "_" not in title  # plain words
    assert re.search(r"rose \+\d+\.\d pts", driver.inner_text())
    example = driver.locator("ul.examples a").first
    sentence = example.inner_text().strip("“”")
    assert len(sentence.split()) >= 4
    shot(page, "drivers")
    example.click()
    page.wait_for_selector("li.record")
    assert "cue=" in page.url
    behaviours = page.locator("li.record p.cues").all_inner_texts()
    assert behaviours and all(title in b for b in behaviours)
    assert any(sentence.rstrip(".…") in t for t in page.locator("li.record .text").all_inner_texts())
    shot(page, "drivers-records")
    page.goto(data.url + "/teams/Atlas?period=week")
    assert page.locator("section.drivers li.driver").count() >= 1  # the team page has its own panel
    shot(page, "team-drivers")


def test_a_second_upload_of_the_same_file_says_when_it_went_in(data: Server, new_page, shot, tmp_path) -> None:
    path = tmp_path / "weekly.csv"
    path.write_text(
        "id,team,source,created_at,text\n"
        "w1,Atlas,call_note,2026-11-02T10:00:00Z,Asked about their goals and pains first and listened.\n"
        "w2,Atlas,customer_comment,2026-11-03T10:00:00Z,They pushed a discount to sign by Friday.\n",
        encoding="utf-8",
    )
    page = new_page(DESKTOP)
    sign_in(page, data, "uploader", "/upload")
    page.get_by_label("File (CSV or JSONL)").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_function("document.getElementById('batch-status').textContent === 'done'", timeout=60_000)
    assert page.locator("#already").is_hidden()
    page.goto(data.url + "/upload")
    listed = page.locator("table.uploads tbody tr", has_text="weekly.csv")
    assert listed.count() == 1 and "2" in listed.inner_text()  # the past uploads, with their counts
    page.get_by_label("File (CSV or JSONL)").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    notice = page.locator("#already")
    notice.wait_for()
    assert re.search(r"already uploaded on \d{4}-\d\d-\d\d \d\d:\d\d UTC", notice.inner_text())
    shot(page, "already-uploaded")
    notice.get_by_role("link", name="Open that upload").click()
    page.wait_for_function("document.getElementById('batch-status').textContent === 'done'", timeout=60_000)
    assert "2 stored" in page.locator("#batch-counts").inner_text()


def test_progress_shows_rows_and_percent_before_the_first_poll_answers(data: Server, new_page, shot, tmp_path) -> None:
    path = tmp_path / "slow.csv"
    rows = "".join(f"p{i},Atlas,call_note,2026-11-04T10:00:00Z,Asked about goal number {i} first.\n" for i in range(40))
    path.write_text("id,team,source,created_at,text\n" + rows, encoding="utf-8")
    page = new_page(DESKTOP)
    sign_in(page, data, "uploader", "/upload")
    held: list[Any] = []
    page.route(re.compile(r".*/v1/batches/[0-9a-f]+(\?.*)?$"), lambda route: held.append(route))  # hold the polls
    page.get_by_label("File (CSV or JSONL)").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_function("document.getElementById('batch-percent').textContent === '0%'", timeout=5_000)
    assert "0 of about 40 rows read (0%)" in page.locator("#batch-counts").inner_text()
    assert page.locator("progress").get_attribute("value") == "0"
    shot(page, "progress-first-second")
    page.unroute(re.compile(r".*/v1/batches/[0-9a-f]+(\?.*)?$"))
    for route in held:
        try:
            route.continue_()
        except Exception:  # noqa: BLE001 - released by unroute already
            pass
    page.wait_for_function("document.getElementById('batch-status').textContent === 'done'", timeout=60_000)
    assert page.locator("#batch-percent").inner_text() == "100%"


def test_label_five_texts_by_keyboard_and_see_the_trend_become_prediction_powered(data: Server, new_page, shot) -> None:
    page = new_page(DESKTOP)
    sign_in(page, data, "uploader", "/review?team=Atlas&kind=audit")
    counter = page.locator("#review-counter")
    page.wait_for_function("document.getElementById('review-counter').textContent.includes('to go')")
    assert counter.inner_text().startswith("0 done")
    trend = page.locator("#review-trend")
    page.wait_for_function("document.getElementById('review-trend').dataset.adjustment === 'card'")
    assert "from the model card" in trend.inner_text()
    assert page.locator("#review-model").inner_text() == ""  # blind: no model label
    shot(page, "review-start")
    first = page.locator("#review-text").inner_text()
    for key in ["1", "2", "3", "2", "1"]:
        before = page.locator("#review-text").inner_text()
        page.keyboard.press(key)
        page.wait_for_function(
            "(t) => document.getElementById('review-text').textContent !== t && "
            "document.getElementById('review-status').textContent.startsWith('Saved')",
            arg=before,
        )
    assert counter.inner_text().startswith("5 done")
    page.wait_for_function("document.getElementById('review-trend').dataset.adjustment === 'ppi'")
    assert re.search(r"from \d+ audit labels", trend.inner_text())
    shot(page, "review-after-five")
    page.keyboard.press("u")  # undo: back to the fifth text, to label it again
    assert page.locator("#review-text").inner_text() != first
    assert counter.inner_text().startswith("4 done")
    page.keyboard.press("s")  # skip it
    assert counter.inner_text().startswith("4 done")
    api = data.api("GET", "/v1/trends?team=Atlas&period=month", data.tokens["viewer"]).json()
    assert any(p["adjustment"] == "ppi" and p["audit_n"] >= 2 for p in api["points"])
