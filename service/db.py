"""Storage: the schema (SQLAlchemy Core), engines for SQLite (WAL) and PostgreSQL, migrations at start.

Tables:

* ``tokens``       hashed API tokens with a role and an optional team list
* ``sessions``     dashboard sessions (hashed cookie value -> token)
* ``batches``      uploads, their content hash, status, counters and the ``rows_consumed`` checkpoint
* ``batch_errors`` rejected rows and rows skipped as duplicates (line, field, message, kind)
* ``records``      stored texts with their prediction and review, unique per (team, external id)
* ``label_counts`` counts by (team, source, day, label, kind) kept in step with ``records``; ``kind`` is
  ``model`` for the model's label or ``review`` for a reviewed one. Trends read only this table.
* ``cue_counts``   records per (team, source, day, cue) where the cue fired, kept in step with ``records``;
  what drives the share (:mod:`service.drivers`) reads this table
* ``score_sums``   the model's needs-first and pitch-first probabilities summed per (team, source, day),
  with squares and products: what prediction-powered trends need from all records
* ``audit_samples`` a seeded uniform draw of records per (team, period), labelled blind by a reader and
  kept apart from corrections (:mod:`service.audit`)
* ``scorecards``   seven-habits self-assessments per (team, period start), append-only history
* ``model_versions`` the model registry: the shipped model and every retrain (teams served, status,
  progress, evaluation side by side with the model it would replace, who promoted it and when)
* ``model_assignments`` which version labels each team's records (``*``: every team without its own)
* ``reclassify_runs`` re-labelling stored records after a promotion or rollback: checkpoint (last record
  id), counts, heartbeat; ``reclassify_chunks`` the counts of each chunk it stored
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

metadata = sa.MetaData()

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("teams", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("token_id", sa.Integer, sa.ForeignKey("tokens.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("scope", sa.String(2000), nullable=False),
    sa.Column("filename", sa.String(300), nullable=True),
    sa.Column("fmt", sa.String(10), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(10), nullable=False, index=True),
    sa.Column("rows_total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_expected", sa.Integer, nullable=True),  # data lines counted at upload, for progress
    sa.Column("rows_stored", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_rejected", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_duplicate", sa.Integer, nullable=False, server_default="0"),
    sa.Column("rows_consumed", sa.Integer, nullable=False, server_default="0"),
    sa.Column("token_id", sa.Integer, nullable=True),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("heartbeat_at", sa.DateTime, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
)

batch_errors = sa.Table(
    "batch_errors",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(32), nullable=False),
    sa.Column("line", sa.Integer, nullable=True),
    sa.Column("field", sa.String(50), nullable=True),
    sa.Column("message", sa.Text, nullable=False),
    # "rejected" (not stored: invalid) or "duplicate" (not stored: its id is already stored for its team)
    sa.Column("kind", sa.String(16), nullable=False, server_default="rejected"),
    sa.Index("ix_batch_errors_batch", "batch_id", "id"),
    sa.Index("ix_batch_errors_batch_kind", "batch_id", "kind", "id"),
)

records = sa.Table(
    "records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("team", sa.String(200), nullable=False),
    sa.Column("external_id", sa.String(200), nullable=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("source", sa.String(30), nullable=True),
    sa.Column("rep", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("batch_id", sa.String(32), nullable=True),
    sa.Column("label", sa.String(20), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("uncertain", sa.Boolean, nullable=False),
    sa.Column("prediction", sa.JSON, nullable=False),
    sa.Column("reviewed_label", sa.String(20), nullable=True),
    sa.Column("reviewed_by", sa.String(200), nullable=True),
    sa.Column("reviewed_at", sa.DateTime, nullable=True),
    sa.Column("ingested_at", sa.DateTime, nullable=False),
    sa.Column("model_version", sa.String(40), nullable=True),  # the model that labelled it
    sa.UniqueConstraint("team", "external_id", name="uq_records_team_external_id"),
    sa.Index("ix_records_team_created", "team", "created_at", "id"),
    sa.Index("ix_records_created", "created_at", "id"),
)

label_counts = sa.Table(
    "label_counts",
    metadata,
    sa.Column("team", sa.String(200), primary_key=True),
    sa.Column("source", sa.String(30), primary_key=True),  # '' when the row had no source
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("label", sa.String(20), primary_key=True),
    sa.Column("kind", sa.String(10), primary_key=True),  # 'model' | 'review'
    sa.Column("n", sa.Integer, nullable=False),
)

cue_counts = sa.Table(
    "cue_counts",
    metadata,
    sa.Column("team", sa.String(200), primary_key=True),
    sa.Column("source", sa.String(30), primary_key=True),  # '' when the row had no source
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("cue", sa.String(60), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),  # records of that team, source and day where the cue fired
)

score_sums = sa.Table(
    "score_sums",
    metadata,
    sa.Column("team", sa.String(200), primary_key=True),
    sa.Column("source", sa.String(30), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("needs", sa.Float, nullable=False),  # sum of P(needs_first) over the records
    sa.Column("pitch", sa.Float, nullable=False),  # sum of P(pitch_first)
    sa.Column("nn", sa.Float, nullable=False),  # sums of squares and products, for variances
    sa.Column("np", sa.Float, nullable=False),
    sa.Column("pp", sa.Float, nullable=False),
)

audit_samples = sa.Table(
    "audit_samples",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("team", sa.String(200), nullable=False),
    sa.Column("period", sa.String(10), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("record_id", sa.Integer, nullable=False),
    sa.Column("seed", sa.String(64), nullable=False),
    sa.Column("drawn_at", sa.DateTime, nullable=False),
    sa.Column("label", sa.String(20), nullable=True),  # the reader's label, given blind
    sa.Column("labelled_by", sa.String(200), nullable=True),
    sa.Column("labelled_at", sa.DateTime, nullable=True),
    sa.UniqueConstraint("team", "period", "period_start", "record_id", name="uq_audit_sample_record"),
    sa.Index("ix_audit_samples_record", "record_id"),
)

scorecards = sa.Table(
    "scorecards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("team", sa.String(200), nullable=False),
    sa.Column("period_start", sa.Date, nullable=False),
    sa.Column("scores", sa.JSON, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("band", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_scorecards_team_period", "team", "period_start", "id"),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("version", sa.String(40), primary_key=True),
    sa.Column("scope", sa.String(2000), nullable=False),  # '*' (every team) or the sorted teams, comma-joined
    # queued | training | trained | failed | active | retired | discarded
    sa.Column("status", sa.String(12), nullable=False, index=True),
    sa.Column("base_version", sa.String(40), nullable=True),  # what served the scope when the retrain started
    sa.Column("previous", sa.JSON, nullable=True),  # at promotion: team -> the version it replaced (rollback)
    sa.Column("stage", sa.String(200), nullable=True),
    sa.Column("progress_done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("progress_total", sa.Integer, nullable=False, server_default="0"),
    sa.Column("params", sa.JSON, nullable=True),  # weights and the recipe it was trained with
    sa.Column("evaluation", sa.JSON, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_by", sa.String(200), nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    sa.Column("promoted_by", sa.String(200), nullable=True),
    sa.Column("promoted_at", sa.DateTime, nullable=True),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("heartbeat_at", sa.DateTime, nullable=True),
)

model_assignments = sa.Table(
    "model_assignments",
    metadata,
    sa.Column("team", sa.String(200), primary_key=True),  # '*': every team without a row of its own
    sa.Column("version", sa.String(40), nullable=False),
    sa.Column("assigned_at", sa.DateTime, nullable=False),
)

reclassify_runs = sa.Table(
    "reclassify_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("version", sa.String(40), nullable=False),  # the model the records move to
    sa.Column("scope", sa.String(2000), nullable=False),
    sa.Column("status", sa.String(12), nullable=False, index=True),  # queued | running | done | superseded
    sa.Column("last_record_id", sa.Integer, nullable=False, server_default="0"),  # the checkpoint
    sa.Column("total", sa.Integer, nullable=False, server_default="0"),  # records to re-label, counted at start
    sa.Column("done", sa.Integer, nullable=False, server_default="0"),
    sa.Column("changed", sa.Integer, nullable=False, server_default="0"),  # records whose label changed
    sa.Column("chunks", sa.Integer, nullable=False, server_default="0"),
    sa.Column("owner", sa.String(64), nullable=True),
    sa.Column("heartbeat_at", sa.DateTime, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
)

reclassify_chunks = sa.Table(
    "reclassify_chunks",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("first_record_id", sa.Integer, nullable=False),
    sa.Column("last_record_id", sa.Integer, nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("changed", sa.Integer, nullable=False),
    sa.Column("stored_at", sa.DateTime, nullable=False),
)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def utcnow() -> datetime:
    """Naive UTC now (the database stores naive UTC datetimes)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode, a busy timeout and their directory created."""
    if sa.make_url(url).get_backend_name() == "sqlite":
        if (path := sqlite_file(url)) is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def migrate(engine: Engine) -> None:
    """Apply the Alembic migrations up to head (idempotent)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (``None`` for other databases and in-memory ones)."""
    parsed = sa.make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def file_identity(path: Path | None) -> tuple[int, int] | None:
    """``(device, inode)`` of a database file, to notice it being deleted or replaced under the server."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def error_reason(error: sa.exc.DBAPIError) -> str:
    """The first line of the database driver's message (at most 200 characters), for a problem's detail."""
    return str(error.orig).splitlines()[0][:200] if error.orig is not None else type(error).__name__


def write_problem(engine: Engine, url: str, identity: tuple[int, int] | None) -> str | None:
    """Why the database cannot take writes now (``None`` if it can).

    Runs a write statement that matches no row in a transaction that is rolled back: a read-only
    database refuses it all the same. A SQLite file must still be the one the server opened.
    """
    path = sqlite_file(url)
    if path is not None and file_identity(path) != identity:
        return f"the database file {path} was deleted or replaced while the server ran; restore it and restart"
    try:
        with engine.connect() as conn, conn.begin() as tx:
            conn.execute(tokens.update().where(sa.false()).values(name=tokens.c.name))
            tx.rollback()
    except sa.exc.DBAPIError as e:
        return f"the database refuses writes ({error_reason(e)}); check its permissions and disk"
    return None


def dialect_insert(conn: Connection) -> Any:
    """The ``insert`` with ``ON CONFLICT`` support of the connection's database."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def upsert_cue_counts(conn: Connection, deltas: dict[tuple[str, str, Any, str], int]) -> None:
    """Add ``deltas`` keyed by (team, source, day, cue) to ``cue_counts`` (one statement, one lock order)."""
    rows = [{"team": t, "source": s, "day": d, "cue": c, "n": n} for (t, s, d, c), n in deltas.items() if n != 0]
    if not rows:
        return
    rows.sort(key=lambda r: (r["team"], r["source"], r["day"], r["cue"]))
    stmt = dialect_insert(conn)(cue_counts)
    stmt = stmt.on_conflict_do_update(
        index_elements=["team", "source", "day", "cue"], set_={"n": cue_counts.c.n + stmt.excluded.n}
    )
    conn.execute(stmt, rows)


SCORE_SUM_COLUMNS = ("n", "needs", "pitch", "nn", "np", "pp")


def upsert_score_sums(conn: Connection, deltas: dict[tuple[str, str, Any], list[float]]) -> None:
    """Add ``[n, needs, pitch, nn, np, pp]`` keyed by (team, source, day) to ``score_sums``."""
    rows = [
        {
            "team": t,
            "source": s,
            "day": d,
            "n": int(v[0]),
            "needs": v[1],
            "pitch": v[2],
            "nn": v[3],
            "np": v[4],
            "pp": v[5],
        }
        for (t, s, d), v in deltas.items()
        if any(v)  # a re-labelled record moves the sums without changing n
    ]
    if not rows:
        return
    rows.sort(key=lambda r: (r["team"], r["source"], r["day"]))
    stmt = dialect_insert(conn)(score_sums)
    stmt = stmt.on_conflict_do_update(
        index_elements=["team", "source", "day"],
        set_={k: getattr(score_sums.c, k) + getattr(stmt.excluded, k) for k in SCORE_SUM_COLUMNS},
    )
    conn.execute(stmt, rows)


def upsert_counts(conn: Connection, deltas: dict[tuple[str, str, Any, str, str], int]) -> None:
    """Add ``deltas`` keyed by (team, source, day, label, kind) to ``label_counts`` (one statement)."""
    rows = [
        {"team": t, "source": s, "day": d, "label": lab, "kind": k, "n": n}
        for (t, s, d, lab, k), n in deltas.items()
        if n != 0
    ]
    if not rows:
        return
    rows.sort(key=lambda r: (r["team"], r["source"], r["day"], r["label"], r["kind"]))  # one lock order
    stmt = dialect_insert(conn)(label_counts)
    stmt = stmt.on_conflict_do_update(
        index_elements=["team", "source", "day", "label", "kind"],
        set_={"n": label_counts.c.n + stmt.excluded.n},
    )
    conn.execute(stmt, rows)
