"""Issue 11, item 6, in a real browser: a page on another port of the same host auto-submits a form to
the signed-in dashboard's upload route; the session cookie goes along (same site), the upload must not."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.browser.conftest import Server


def _attacker(target: str) -> ThreadingHTTPServer:
    page = f"""<!doctype html><html><body>
<form id="f" method="post" enctype="multipart/form-data" action="{target}/v1/batches">
<textarea name="file">id,text,team
csrf-1,Planted by another site,North</textarea></form>
<script>document.getElementById("f").submit()</script></body></html>""".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_issue_11_item_6_a_cross_origin_form_post_with_the_session_cookie_is_refused(
    server: Server, new_page, shot
) -> None:
    page = new_page()
    page.goto(server.url + "/")
    page.wait_for_url(re.compile(r"/signin"))
    page.get_by_label("Token").fill(server.tokens["uploader"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("text=Signed in as")
    before = server.api("GET", "/v1/batches", server.tokens["uploader"]).json()
    attacker = _attacker(server.url)
    try:
        with page.expect_navigation(url=re.compile(r"/v1/batches")) as nav:
            page.goto(f"http://127.0.0.1:{attacker.server_port}/")
        response = nav.value
        assert response is not None and response.status == 403
        assert "another site" in page.content()
        shot(page, "csrf-refused")
    finally:
        attacker.shutdown()
        attacker.server_close()
    after = server.api("GET", "/v1/batches", server.tokens["uploader"]).json()
    assert after == before
    records = server.api("GET", "/v1/records?q=Planted", server.tokens["uploader"]).json()["items"]
    assert records == []
