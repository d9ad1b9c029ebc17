"""The model registry: which versions exist, which one labels each team's records, and the models in memory.

A version serves a *scope*: ``*`` (every team) or a set of teams (a retrain started by a team-limited
admin, or for chosen teams). ``model_assignments`` maps a team to the version that labels its records;
the ``*`` row covers every team without a row of its own, and without any row the shipped model does.

Every process (uvicorn worker, batch worker, re-classification) reads the assignments from the database
through :class:`ModelSet`, at most ``refresh_seconds`` old, so a promotion in one worker reaches the
others within that time; a version is loaded from its bundle the first time it is needed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.auth import Principal
from service.db import dialect_insert, model_assignments, model_versions, utcnow
from service.errors import NotFoundError
from vocml.data import Record
from vocml.errors import VocmlError
from vocml.model import Classifier, Prediction

log = logging.getLogger("vocml.service.registry")

EVERY_TEAM = "*"


def scope_of(teams: Sequence[str] | None) -> str:
    """``*`` for every team, else the sorted teams joined by commas (the same as a batch's scope)."""
    return EVERY_TEAM if teams is None else ",".join(sorted(set(teams)))


def teams_of(scope: str) -> frozenset[str] | None:
    """The teams of a scope; ``None`` for every team."""
    return None if scope == EVERY_TEAM else frozenset(t for t in scope.split(",") if t)


def may_see(principal: Principal, scope: str) -> bool:
    """A team-limited principal sees a version only when every team it serves is one of its own; the
    shipped and other every-team versions carry no team's text and are visible to all."""
    teams = teams_of(scope)
    return principal.teams is None or teams is None or teams <= principal.teams


def register_shipped(engine: Engine, classifier: Classifier) -> None:
    """Record the shipped model in the registry (once per version); it serves every team until a
    promotion says otherwise."""
    version = classifier.version
    if version is None:
        return
    with engine.begin() as conn:
        # several workers start at once: the first insert wins, the others change nothing
        stmt = dialect_insert(conn)(model_versions).values(
            version=version,
            scope=EVERY_TEAM,
            status="shipped",
            stage="shipped with vocml (its figures are on its card: the model page)",
            created_at=utcnow(),
            finished_at=utcnow(),
        )
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["version"]))


def assignments(conn: Connection) -> dict[str, str]:
    """team -> version, ``*`` included when set."""
    return {str(r.team): str(r.version) for r in conn.execute(sa.select(model_assignments))}


def get_version(conn: Connection, version: str, principal: Principal) -> dict[str, Any]:
    """One registry row the principal may see (404 otherwise, so another team's versions stay unknown)."""
    row = conn.execute(sa.select(model_versions).where(model_versions.c.version == version)).mappings().first()
    if row is None or not may_see(principal, str(row["scope"])):
        raise NotFoundError(f"model {version} not found; GET /v1/models lists the versions you can see")
    return dict(row)


def list_versions(conn: Connection, principal: Principal) -> list[dict[str, Any]]:
    """Every version the principal may see, newest first."""
    rows = conn.execute(
        sa.select(model_versions).order_by(model_versions.c.created_at.desc(), model_versions.c.version.desc())
    ).mappings()
    return [dict(r) for r in rows if may_see(principal, str(r["scope"]))]


def serving(assigned: dict[str, str], team: str, shipped: str | None) -> str | None:
    """The version that labels ``team``'s records."""
    return assigned.get(team) or assigned.get(EVERY_TEAM) or shipped


class ModelSet:
    """The models this process labels with: the shipped one, plus every version a team is pointed at,
    loaded from ``models_dir/<version>``. A thread re-reads the team -> version map every
    ``refresh_seconds`` and loads newly promoted versions before they are used, so a request never waits
    on the database or a bundle for it. Thread-safe.

    Args:
        shipped: the classifier loaded at start (the shipped bundle, or a test's).
        models_dir: where retrained bundles are written (``Settings.models_dir``).
        refresh_seconds: how old the team -> version map may get.
    """

    def __init__(self, engine: Engine, shipped: Classifier, models_dir: Path, refresh_seconds: float = 2.0) -> None:
        self.engine = engine
        self.shipped = shipped
        self.models_dir = models_dir
        self.refresh_seconds = refresh_seconds
        self._loaded: dict[str, Classifier] = {} if shipped.version is None else {shipped.version: shipped}
        self._assigned: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vocml-model-refresh", daemon=True)

    def start(self) -> None:
        """Read the map now, then keep it fresh in a thread."""
        self.refresh()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_seconds):
            try:
                self.refresh()
            except Exception:  # noqa: BLE001 - a database blip must not stop the refreshes; logged
                log.exception("model map not refreshed", extra={"event": "model_refresh_failed"})

    def refresh(self) -> dict[str, str]:
        """Read the team -> version map and load any version it names that is not loaded yet."""
        with self.engine.connect() as conn:
            assigned = assignments(conn)
        for version in set(assigned.values()):
            try:
                self.load(version)
            except VocmlError as e:  # a bundle gone from disk: its teams fall back to the shipped model
                log.error(
                    "promoted model cannot be loaded",
                    extra={"event": "model_load_failed", "version": version, "error": str(e)},
                )
                assigned = {t: v for t, v in assigned.items() if v != version}
        with self._lock:
            self._assigned = assigned
        return assigned

    def version_for(self, team: str | None) -> str | None:
        """The version that labels ``team`` (a text without a team: the every-team version)."""
        with self._lock:
            return serving(self._assigned, team or "", self.shipped.version)

    def load(self, version: str | None) -> Classifier:
        """The classifier of ``version``, loaded from its bundle the first time."""
        if version is None or version == self.shipped.version:
            return self.shipped
        with self._lock:
            found = self._loaded.get(version)
        if found is not None:
            return found
        from vocml.bundle import load_model

        model = load_model(self.models_dir / version)
        with self._lock:
            return self._loaded.setdefault(version, model)

    def for_team(self, team: str | None) -> Classifier:
        """The classifier that labels ``team``'s records now."""
        return self.load(self.version_for(team))

    def classify(self, items: Sequence[Record]) -> tuple[list[Prediction], list[str | None]]:
        """Each record labelled by its team's model, in order; with the version that labelled each."""
        by_version: dict[str | None, list[int]] = {}
        for i, rec in enumerate(items):
            by_version.setdefault(self.version_for(rec.team), []).append(i)
        predictions: list[Prediction | None] = [None] * len(items)
        versions: list[str | None] = [None] * len(items)
        for version, positions in by_version.items():
            model = self.load(version)
            for i, pred in zip(positions, model.classify([items[i] for i in positions]), strict=True):
                predictions[i] = pred
                versions[i] = model.version
        return [p for p in predictions if p is not None], versions


__all__ = [
    "EVERY_TEAM",
    "ModelSet",
    "assignments",
    "get_version",
    "list_versions",
    "may_see",
    "register_shipped",
    "scope_of",
    "serving",
    "teams_of",
]
