"""One ``APIRouter`` per resource; ``create_app`` includes every router in ``ROUTERS`` (add new ones here)."""

from __future__ import annotations

from fastapi import APIRouter

from service.routes import batches, classify, dashboard, health, models, records, scorecards, session, tokens, trends

ROUTERS: list[APIRouter] = [
    health.router,
    session.router,
    classify.router,
    batches.router,
    trends.router,
    records.router,
    tokens.router,
    models.router,
    scorecards.router,
    dashboard.router,
]
