"""The Retrain page in Chromium: start a retrain for one team, follow it, read the side-by-side
evaluation, promote, watch the stored records re-labelled, roll back. (Runs last: its team is its own.)"""

from __future__ import annotations

import time
from typing import Any

from tests.browser.conftest import Server
from tests.browser.test_dashboard_e2e import sign_in
from tests.browser.test_layout_e2e import upload_and_wait

TEAM = "Retrain"
TEXTS = {
    "needs_first": "They asked about our goals for the warehouse before showing anything, visit {i}",
    "pitch_first": "He pushed a discount and wanted us to sign today, call {i}",
    "no_signal": "The parcel arrived on Tuesday and the invoice was correct, order {i}",
}


def _follow(page: Any, selector: str, timeout: float = 300) -> None:
    """Reload until ``selector`` shows (the page also reloads itself while something runs)."""
    deadline = time.monotonic() + timeout
    while not page.locator(selector).count():
        assert time.monotonic() < deadline, page.locator("main").inner_text()[:2000]
        time.sleep(0.5)
        page.reload()


def _versions(server: Server) -> set[str | None]:
    items = server.api("GET", f"/v1/records?team={TEAM}&limit=500", server.tokens["admin"]).json()["items"]
    return {item["model_version"] for item in items}


def test_retrain_promote_and_roll_back_from_the_page(server: Server, new_page, shot) -> None:
    lines = ["id,text,team,source,created_at"]
    for label, text in TEXTS.items():
        lines += [f'r-{label}-{i},"{text.format(i=i)}",{TEAM},customer_comment,2026-03-1{i % 9}' for i in range(20)]
    assert upload_and_wait(server, "retrain.csv", "\n".join(lines) + "\n")["rows_stored"] == 60
    (shipped,) = _versions(server)
    admin = server.tokens["admin"]
    for item in server.api("GET", f"/v1/records?team={TEAM}&limit=500", admin).json()["items"]:
        label = item["external_id"].rsplit("-", 1)[0].removeprefix("r-")
        assert server.api("POST", f"/v1/records/{item['id']}/review", admin, json={"label": label}).status_code == 200

    page = new_page()
    sign_in(page, server, "admin", "/models")
    page.locator(f"input[name=team][value={TEAM}]").check()
    page.get_by_role("button", name="Start retrain").click()
    _follow(page, ".badge.status-trained")
    card = page.locator("article.version", has=page.locator(".badge.status-trained"))
    assert "Your held-out reviewed and audited records" in card.inner_text()
    assert f"Serves {TEAM}" in card.inner_text()
    shot(page, "models-trained")
    version = card.locator("button[data-model-action=promote]").get_attribute("data-version")

    card.locator("button[data-model-action=promote]").click()
    _follow(page, f"article.version:has(button[data-model-action=rollback][data-version='{version}'])")
    _follow(page, "text=Re-labelling stored records: 60 of 60 (100%)")
    assert _versions(server) == {version}
    shot(page, "models-promoted")

    page.locator(f"button[data-model-action=rollback][data-version='{version}']").click()
    _follow(page, ".badge.status-retired")
    deadline = time.monotonic() + 120
    while _versions(server) != {shipped}:
        assert time.monotonic() < deadline, _versions(server)
        time.sleep(0.2)
    shot(page, "models-rolled-back")
