"""Benchmark (not a test): the dashboard overview's first render with 50 teams and 1,000,000 records,
sparklines and the drivers panel included.

Fills a fresh SQLite database with bulk SQL (a recursive CTE into ``records``, then ``label_counts`` and
``cue_counts`` aggregated from it, exactly what the batch worker keeps in step), starts the real app
in-process and times ``GET /`` with a session cookie: the first render, then the median of several.

    .venv/bin/python tests/bench/bench_dashboard.py [--records 1000000] [--teams 50] [--renders 15]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import sqlalchemy as sa

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import create_token
from service.db import make_engine, migrate
from service.settings import Settings

# Four kinds of stored prediction, so that the drivers panel has behaviours to count and quote.
PREDICTIONS = [
    '{"scores": {}, "cues": ["price_push"], "evidence": []}',
    '{"scores": {}, "cues": ["discovery_question"], "evidence": []}',
    '{"scores": {}, "cues": ["deadline_pressure", "feature_dump"], "evidence": []}',
    '{"scores": {}, "cues": [], "evidence": []}',
]


class StubClassifier:
    """The overview never classifies; a stub keeps model loading out of the timing."""

    version = "bench"
    threshold = 0.6
    card = None

    def classify(self, items: Any) -> list[Any]:
        return []  # only the app's warm-up calls this


def fill(engine: sa.Engine, *, n_records: int, n_teams: int, days: int = 730) -> float:
    """Insert ``n_records`` spread over ``n_teams`` and ``days`` days; return seconds taken."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                """
                WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < :n)
                INSERT INTO records (team, external_id, text, source, rep, created_at, day, batch_id, label,
                                     confidence, uncertain, prediction, ingested_at)
                SELECT printf('Team %02d', i % :teams), 'b' || i, 'benchmark text ' || i,
                       CASE WHEN i % 3 = 0 THEN 'customer_comment' ELSE 'call_note' END,
                       NULL,
                       datetime('2025-01-01', '+' || ((i / :teams) % :days) || ' days',
                                '+' || (i % 86400) || ' seconds'),
                       date('2025-01-01', '+' || ((i / :teams) % :days) || ' days'),
                       'bench',
                       CASE WHEN (i * 7 + (i % :teams) + (i / 100000)) % 10 < 4 THEN 'needs_first'
                            WHEN (i * 7 + (i % :teams) + (i / 100000)) % 10 < 8 THEN 'pitch_first'
                            ELSE 'no_signal' END,
                       0.9, 0,
                       CASE (i / 7 + i / 100000) % 4 WHEN 0 THEN :p0 WHEN 1 THEN :p1 WHEN 2 THEN :p2 ELSE :p3 END,
                       datetime('now')
                FROM seq
                """
            ),
            {"n": n_records, "teams": n_teams, "days": days, **{f"p{k}": p for k, p in enumerate(PREDICTIONS)}},
        )
        conn.execute(
            sa.text(
                """
                INSERT INTO label_counts (team, source, day, label, kind, n)
                SELECT team, coalesce(source, ''), day, label, 'model', count(*)
                FROM records GROUP BY team, coalesce(source, ''), day, label
                """
            )
        )
        for cue in ("price_push", "discovery_question", "deadline_pressure", "feature_dump"):
            conn.execute(
                sa.text(
                    """
                    INSERT INTO cue_counts (team, source, day, cue, n)
                    SELECT team, coalesce(source, ''), day, :cue, count(*)
                    FROM records WHERE prediction LIKE :pattern GROUP BY team, coalesce(source, ''), day
                    """
                ),
                {"cue": cue, "pattern": f'%"{cue}"%'},
            )
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--teams", type=int, default=50)
    parser.add_argument("--renders", type=int, default=15)
    parser.add_argument("--db", type=Path, help="reuse this SQLite file (filled if empty)")
    args = parser.parse_args()

    db = args.db or Path(tempfile.mkdtemp(prefix="vocml-bench-")) / "bench.db"
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    migrate(engine)
    with engine.connect() as conn:
        existing = int(conn.execute(sa.text("SELECT count(*) FROM records")).scalar_one())
    if existing == 0:
        seconds = fill(engine, n_records=args.records, n_teams=args.teams)
        print(f"inserted {args.records:,} records for {args.teams} teams in {seconds:.1f} s ({db})")
    with engine.begin() as conn:
        token = create_token(conn, role="viewer", name="bench").token
        counts = conn.execute(sa.text("SELECT count(*), count(DISTINCT team) FROM records")).one()
        n_counts = int(conn.execute(sa.text("SELECT count(*) FROM label_counts")).scalar_one())
    engine.dispose()
    print(f"database: {counts[0]:,} records, {counts[1]} teams, {n_counts:,} label_counts rows")

    settings = Settings(database_url=url, spool_dir=db.parent / "spool", poll_seconds=60.0)
    with TestClient(create_app(settings, classifier=StubClassifier())) as client:  # type: ignore[arg-type]
        assert client.post("/v1/session", json={"token": token}).status_code == 200
        for path in ("/", "/?period=week", "/?period=month&start=2026-01-01&end=2026-12-31", "/teams/Team%2007"):
            times = []
            for i in range(args.renders):
                started = time.perf_counter()
                r = client.get(path, headers={"Accept": "text/html"})
                times.append(time.perf_counter() - started)
                if r.status_code != 200:
                    raise SystemExit(f"{path} answered {r.status_code}: {r.text[:300]}")
                if i == 0:
                    first = times[0]
            cards = r.text.count('<li class="team-card">') or r.text.count('<th scope="row">')
            drivers = r.text.count('<li class="driver ')
            sparks = r.text.count('<svg class="spark"')
            print(
                f"GET {path:<52} first {first * 1000:7.1f} ms   p50 {statistics.median(times) * 1000:7.1f} ms   "
                f"max {max(times) * 1000:7.1f} ms   ({cards} teams or rows, {sparks} sparklines, {drivers} drivers, "
                f"{len(r.content) // 1024} KiB)"
            )


if __name__ == "__main__":
    main()
