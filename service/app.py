"""The app factory: ``create_app(settings)`` wires settings, storage, the model, the batch worker,
problem handlers, metrics and the routers in :mod:`service.routes`.

Run it with ``vocml serve`` or ``uvicorn --factory service.app:create_app``. Nothing happens at import:
the database is migrated and the model loaded in the lifespan.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import problems
from service.auth import TokenCache, count_tokens
from service.batches import BatchWorker
from service.db import file_identity, make_engine, migrate, sqlite_file
from service.metrics import Metrics, MetricsShare
from service.model_jobs import ModelWorker
from service.registry import ModelSet, register_shipped
from service.routes import ROUTERS, dashboard
from service.routes.classify import MAX_BODY_BYTES
from service.settings import Settings, get_settings, metrics_path
from service.trends import ErrorModel
from vocml import __version__
from vocml.model import Classifier

log = logging.getLogger("vocml.service")


class ObserveMiddleware:
    """Counts every request for ``/metrics`` and writes one access log line (route template, never the query)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe_request(scope["method"], route, status, elapsed)
            principal = getattr(scope.get("state", {}).get("principal"), "name", None)
            log.info(
                "request",
                extra={
                    "event": "request",
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "token": principal,
                },
            )


PUBLISH_SECONDS = 2.0


async def _publish_every(share: MetricsShare, seconds: float) -> None:
    """Publish this worker's metrics for the other workers' ``/metrics`` until cancelled."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await asyncio.to_thread(share.publish)
        except OSError as e:  # a full or read-only disk must not take the service down
            log.warning("metrics not published", extra={"event": "metrics_publish_failed", "error": str(e)})


def create_app(settings: Settings | None = None, *, classifier: Classifier | None = None) -> FastAPI:
    """Build the app.

    Args:
        settings: defaults to :func:`service.settings.get_settings` (``VOCML_*`` variables).
        classifier: use this instead of loading the bundle (tests).
    """
    settings = settings or get_settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        from vocml.bundle import load_model
        from vocml.cues import match_texts

        engine = make_engine(settings.database_url)
        migrate(engine)
        app.state.db_identity = file_identity(sqlite_file(settings.database_url))
        model = classifier if classifier is not None else load_model(settings.model_dir)
        model.classify(["warm-up"])  # spaCy and numpy initialise here, not in the first request
        match_texts(["warm-up"])  # the drivers panel quotes sentences through the cue matcher: built now too
        app.state.engine = engine
        app.state.classifier = model
        app.state.error_model = ErrorModel.from_card(model.card)
        register_shipped(engine, model)
        models = ModelSet(engine, model, settings.models_dir, settings.model_refresh_seconds)
        models.start()
        app.state.models = models
        with engine.connect() as conn:
            if count_tokens(conn) == 0:
                log.warning("no API tokens yet; create one with `vocml token create --role admin`")
        from vocml.bundle import default_model_dir

        # A helper process can reload the model only when it came from a bundle on disk.
        bundle = None if classifier is not None else (settings.model_dir or default_model_dir())
        worker = BatchWorker(engine, models, settings, on_rows=metrics.add_batch_rows, model_dir=bundle)
        app.state.worker = worker
        worker.start()
        model_worker = ModelWorker(engine, models, settings)
        app.state.model_worker = model_worker
        model_worker.start()
        # The model, spaCy and the app are loaded for good: move them out of the collector's sight so a
        # full collection (~150 ms over ~200k objects) cannot stall requests.
        gc.collect()
        gc.freeze()
        share = app.state.metrics_share
        publishing = asyncio.create_task(_publish_every(share, PUBLISH_SECONDS))
        log.info("service started", extra={"event": "started", "model": model.version})
        try:
            yield {}
        finally:
            publishing.cancel()
            model_worker.stop()
            worker.stop()
            models.stop()
            try:
                share.publish()  # the last counts of this worker stay in the total
            except OSError as e:
                log.warning("metrics not published", extra={"event": "metrics_publish_failed", "error": str(e)})
            engine.dispose()

    app = FastAPI(
        title="vocml",
        summary="Needs-first or pitch-first: classify texts, upload batches, read per-team trends.",
        version=__version__,
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.problem_html = None
    app.state.coalescers = {}  # one per model in use: concurrent requests' texts classified together
    app.state.token_cache = TokenCache(settings.auth_cache_seconds)
    app.state.metrics_share = MetricsShare(metrics_path(settings), metrics)
    problems.install(app)
    dashboard.install(app)  # /static and HTML problems for pages
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(problems.BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(ObserveMiddleware, metrics=metrics)
    return app
