"""Fixtures for the service tests: settings per database backend, a fake classifier, clients and tokens.

SQLite always; PostgreSQL too when ``VOCML_TEST_DATABASE_URL`` is set (each test gets its own schema).
"""

from __future__ import annotations

import os
import re
import secrets
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

with warnings.catch_warnings():
    # starlette.testclient prefers httpx2; the httpx it falls back to works the same for these tests.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import create_token
from service.settings import Settings
from vocml.data import LABELS, Record
from vocml.model import Evidence, Prediction

PG_URL = os.environ.get("VOCML_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + ([pytest.param("postgresql", marks=pytest.mark.postgres)] if PG_URL else [])

# A confusion matrix (rows true, columns predicted) in the card's label order.
CONFUSION = {
    "labels": ["pitch_first", "needs_first", "no_signal"],
    "matrix": [[80, 10, 10], [20, 70, 10], [5, 5, 90]],
}


@dataclass(frozen=True)
class FakeCard:
    version: str = "0.0.0-fake"
    metrics: dict[str, Any] = field(default_factory=lambda: {"confusion": CONFUSION})


class FakeClassifier:
    """Deterministic keyword rules, fast enough for 100,000-row files; same interface as the real one."""

    version = "0.0.0-fake"
    threshold = 0.6

    def __init__(self) -> None:
        self.card = FakeCard()
        self.calls = 0

    def classify(self, items: Any) -> list[Prediction]:
        self.calls += 1
        out = []
        for item in items:
            text = item.text if isinstance(item, Record) else item["text"] if isinstance(item, dict) else str(item)
            item_id = item.id if isinstance(item, Record) else item.get("id") if isinstance(item, dict) else None
            lowered = text.lower()
            if "asked" in lowered or "listen" in lowered:
                label, word = "needs_first", "asked" if "asked" in lowered else "listen"
            elif "discount" in lowered or "sign" in lowered:
                label, word = "pitch_first", "discount" if "discount" in lowered else "sign"
            else:
                label, word = "no_signal", None
            rules = {"discount": "price_push", "asked": "discovery_question", "eoq": "deadline_pressure"}
            cues = sorted(cue for word_, cue in rules.items() if word_ in lowered)
            confidence = 0.5 if "maybe" in lowered else 0.9
            scores = {lab: (confidence if lab == label else round((1 - confidence) / 2, 6)) for lab in LABELS}
            evidence = []
            if word is not None:
                start = lowered.index(word)
                evidence = [Evidence(text[start : start + len(word)], start, start + len(word), 1.0)]
            out.append(
                Prediction(
                    id=item_id,
                    label=label,
                    confidence=confidence,
                    scores=scores,
                    uncertain=confidence < self.threshold,
                    cues=cues,
                    evidence=evidence,
                )
            )
        return out


@pytest.fixture
def fake_classifier() -> FakeClassifier:
    return FakeClassifier()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'vocml.db'}"
        return
    assert PG_URL is not None  # only parametrised when set
    schema = f"t_{secrets.token_hex(6)}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, test_recipe: tuple[Path, Path]) -> Settings:
    return Settings(
        database_url=database_url,
        spool_dir=tmp_path / "spool",
        batch_stale_seconds=0.0,
        poll_seconds=0.05,
        bootstrap_draws=100,
        models_dir=tmp_path / "models",  # a retrain a test starts by the way writes here, never to var/
        retrain_recipe=test_recipe[0],
        retrain_eval_sets=(test_recipe[1],),
    )


@pytest.fixture
def sqlite_settings(tmp_path: Path, test_recipe: tuple[Path, Path]) -> Settings:
    """SQLite only (large or timing-sensitive tests)."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'vocml.db'}",
        spool_dir=tmp_path / "spool",
        batch_stale_seconds=0.0,
        poll_seconds=0.05,
        bootstrap_draws=100,
        models_dir=tmp_path / "models",  # a retrain a test starts by the way writes here, never to var/
        retrain_recipe=test_recipe[0],
        retrain_eval_sets=(test_recipe[1],),
    )


@pytest.fixture(scope="session")
def test_recipe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny recipe every test's settings retrain from: a test that starts a retrain by the way (the API
    fuzzer, access checks) must not train the shipped recipe's full model in the background for the rest of
    the run."""
    return tiny_recipe(tmp_path_factory.mktemp("recipe"))


class Tokens(dict[str, dict[str, str]]):
    """Authorization headers by token kind: admin, uploader, viewer, and *_emea limited to team EMEA."""


def make_tokens(client: TestClient) -> Tokens:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    tokens = Tokens()
    kinds = {
        "admin": ("admin", None),
        "uploader": ("uploader", None),
        "viewer": ("viewer", None),
        "admin_emea": ("admin", ["EMEA"]),
        "uploader_emea": ("uploader", ["EMEA"]),
        "viewer_emea": ("viewer", ["EMEA"]),
    }
    with engine.begin() as conn:
        for kind, (role, teams) in kinds.items():
            tokens[kind] = {"Authorization": f"Bearer {create_token(conn, role=role, teams=teams, name=kind).token}"}
    return tokens


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """``make_client(settings, classifier=None)`` -> a started client (lifespan run); closed at teardown."""
    opened: list[TestClient] = []

    def factory(settings: Settings, classifier: Any = None) -> TestClient:
        client = TestClient(create_app(settings, classifier=classifier))
        client.headers["Origin"] = str(client.base_url)  # what a browser on the dashboard sends
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(settings: Settings, make_client: Callable[..., TestClient], fake_classifier: FakeClassifier) -> TestClient:
    """A client on the fake classifier, either backend."""
    return make_client(settings, fake_classifier)


@pytest.fixture
def tokens(client: TestClient) -> Tokens:
    return make_tokens(client)


def wait_batch(client: TestClient, batch_id: str, headers: dict[str, str], timeout: float = 120.0) -> dict[str, Any]:
    """Poll a batch until it is done or failed."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/v1/batches/{batch_id}", headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in ("done", "failed"):
            return body
        if time.monotonic() > deadline:
            raise TimeoutError(f"batch {batch_id} still {body['status']}: {body}")
        time.sleep(0.02)


def upload(client: TestClient, content: bytes | str, headers: dict[str, str], name: str = "rows.csv") -> Any:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post("/v1/batches", files={"file": (name, data, "text/csv")}, headers=headers)


def assert_problem(response: Any, status: int, *, field: str | None = None) -> dict[str, Any]:
    """The canonical problem shape: problem+json with type, title, status, detail (and errors naming ``field``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert set(body) >= {"type", "title", "status", "detail"}, body
    assert body["status"] == status
    assert re.match(r"^urn:vocml:problem:[a-z_]+$", body["type"]), body["type"]
    assert body["detail"]
    if field is not None:
        assert any(e.get("field") and field in e["field"] for e in body.get("errors", [])), body
        assert all(e.get("message") for e in body["errors"])
    return body


@pytest.fixture
def helpers() -> Any:
    """``helpers.upload``, ``helpers.wait_batch``, ``helpers.assert_problem``, ``helpers.make_tokens``."""

    class H:
        pass

    h = H()
    h.upload = upload  # type: ignore[attr-defined]
    h.wait_batch = wait_batch  # type: ignore[attr-defined]
    h.assert_problem = assert_problem  # type: ignore[attr-defined]
    h.make_tokens = make_tokens  # type: ignore[attr-defined]
    return h


ROOT = Path(__file__).resolve().parents[2]


def tiny_recipe(directory: Path) -> tuple[Path, Path]:
    """A small training recipe (the first real-train and gold rows, calibrated on real-dev rows) and a
    small labelled evaluation set, so a retrain in a test takes seconds: ``(recipe, eval_set)``."""
    directory.mkdir(parents=True, exist_ok=True)

    def head(src: Path, n: int, name: str, skip: int = 0) -> Path:
        lines = src.read_text(encoding="utf-8").splitlines()[skip : skip + n]
        out = directory / name
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return out

    head(ROOT / "data" / "real" / "train.jsonl", 400, "train.jsonl")
    head(ROOT / "data" / "gold.jsonl", 200, "gold.jsonl")
    head(ROOT / "data" / "real" / "dev.jsonl", 150, "calibrate.jsonl")
    dev = head(ROOT / "data" / "real" / "dev.jsonl", 120, "dev.jsonl", skip=150)
    recipe = directory / "train.toml"
    recipe.write_text(
        "[data]\n"
        'train = [{ path = "train.jsonl", weight = 1.0 }, { path = "gold.jsonl", weight = 1.5 }]\n'
        'calibrate = "calibrate.jsonl"\n'
        "[pipeline]\nclf__estimator__C = 8.0\n",
        encoding="utf-8",
    )
    return recipe, dev


@pytest.fixture
def retrain_settings(settings: Settings, tmp_path: Path) -> Settings:
    """``settings`` with a tiny retrain recipe, models written under ``tmp_path``, small re-label chunks."""
    import dataclasses

    recipe, dev = tiny_recipe(tmp_path / "recipe")
    return dataclasses.replace(
        settings,
        models_dir=tmp_path / "models",
        retrain_recipe=recipe,
        retrain_eval_sets=(dev,),
        reclassify_chunk_rows=7,
        model_refresh_seconds=0.2,
    )
