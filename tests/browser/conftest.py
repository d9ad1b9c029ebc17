"""End-to-end fixtures: the real app under uvicorn (subprocess, temp SQLite, the real model) and Debian's Chromium.

Browser tests skip when ``/usr/bin/chromium`` is missing, except under CI (``CI`` set), where they fail.
Screenshots go to ``test-artifacts/browser/`` (gitignored).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 800}


def _require_browser() -> None:
    problems = []
    if not CHROMIUM.exists():
        problems.append(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("playwright is not installed (pip install -e '.[test]')")
    if problems:
        reason = "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)


@dataclass
class Server:
    """The running app: its base URL, database URL and one token of each kind."""

    url: str
    database_url: str
    tokens: dict[str, str]

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> Any:
        import httpx

        return httpx.request(
            method, self.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=60, **kwargs
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn running ``service.app:create_app`` on a free port with a fresh SQLite database."""
    _require_browser()
    from service.auth import create_token
    from service.db import make_engine, migrate
    from tests.uvicorn_process import UvicornProcess

    tmp = tmp_path_factory.mktemp("e2e")
    database_url = f"sqlite:///{tmp / 'vocml.db'}"
    engine = make_engine(database_url)
    migrate(engine)
    kinds = {
        "admin": ("admin", None),
        "uploader": ("uploader", None),
        "viewer": ("viewer", None),
        "viewer_north": ("viewer", ["North"]),
        "uploader_north": ("uploader", ["North"]),
    }
    with engine.begin() as conn:
        tokens = {k: create_token(conn, role=r, teams=t, name=k).token for k, (r, t) in kinds.items()}
    engine.dispose()
    from tests.service.conftest import tiny_recipe

    recipe, dev = tiny_recipe(tmp / "recipe")  # a retrain from the page takes seconds
    env = {
        **os.environ,
        "VOCML_DATABASE_URL": database_url,
        "VOCML_SPOOL_DIR": str(tmp / "spool"),
        "VOCML_MODELS_DIR": str(tmp / "models"),
        "VOCML_RETRAIN_RECIPE": str(recipe),
        "VOCML_RETRAIN_EVAL_SETS": str(dev),
        "VOCML_RECLASSIFY_CHUNK_ROWS": "20",
        "VOCML_POLL_SECONDS": "0.1",
        "VOCML_BOOTSTRAP_DRAWS": "50",
        "PYTHONUNBUFFERED": "1",
    }
    process = UvicornProcess(env, tmp / "server.log")
    process.start()
    try:
        yield Server(url=process.url, database_url=database_url, tokens=tokens)
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser).

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while it is
    open, which would break later tests that start their own loop with ``asyncio.run``.
    """
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(viewport=DESKTOP)`` -> a page in a fresh context (no cookies); closed at teardown."""
    contexts: list[Any] = []

    def factory(viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """``shot(page, step)`` saves a full-page screenshot as test-artifacts/browser/<test>-<n>-<step>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    counter = [0]

    def take(page: Any, step: str) -> Path:
        counter[0] += 1
        name = request.node.name.replace("[", "-").replace("]", "")
        path = ARTIFACTS / f"{name}-{counter[0]:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
