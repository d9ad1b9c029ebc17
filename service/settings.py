"""Service settings: one frozen object built from ``VOCML_*`` environment variables, passed to ``create_app``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vocml.cli import DATA_DIR
from vocml.data import DEFAULT_MAX_CHARS
from vocml.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///./var/vocml.db"


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment.

    Attributes:
        database_url: SQLAlchemy URL; SQLite (WAL mode) by default, ``postgresql+psycopg://...`` for PostgreSQL.
        model_dir: model bundle directory; ``None`` loads the shipped model.
        spool_dir: where uploads wait until their batch is done (a restart resumes from here).
        max_upload_bytes: largest accepted batch file.
        max_chars: longest accepted text.
        chunk_rows: rows parsed, classified and stored per transaction.
        batch_stale_seconds: a running batch whose heartbeat is older than this is taken over by another worker.
        poll_seconds: how often the batch worker looks for queued work.
        session_ttl_seconds: lifetime of a dashboard session cookie.
        cookie_secure: mark the session cookie ``Secure`` (behind HTTPS).
        bootstrap_draws: parametric bootstrap draws for the adjusted share interval.
        audit_per_period: records drawn per team and period for the blind audit (default 30).
        audit_seed: mixed into every audit draw's seed (the same seed, database and period give the
            same sample).
        public_url: the address printed with the first admin token.
        metrics_dir: where worker processes publish their metrics for ``/metrics`` to sum (default:
            ``metrics`` beside the spool directory).
        batch_helper_min_bytes: uploads at least this large are classified in a helper process beside
            the batch thread (it loads the model in a few seconds, then doubles the rows per second);
            -1 never starts one.
        auth_cache_seconds: how long a worker trusts a bearer token it has looked up; a token revoked
            through another worker or the CLI stops working within this time (0: look up every request).
        models_dir: where retrained versions are written, one bundle per version.
        retrain_recipe: the training recipe a retrain starts from (default: the shipped ``data/train.toml``).
        retrain_eval_sets: labelled ``data/`` development sets both models are scored on before a promotion.
        holdout_percent: share of a customer's labelled records kept for evaluation, never trained on.
        reclassify_chunk_rows: records re-labelled per transaction after a promotion or rollback.
        model_refresh_seconds: how old a worker's team -> model map may get (a promotion reaches every
            worker within this time).
    """

    database_url: str = DEFAULT_DATABASE_URL
    model_dir: Path | None = None
    spool_dir: Path = Path("./var/spool")
    max_upload_bytes: int = 200 * 1024 * 1024
    max_chars: int = DEFAULT_MAX_CHARS
    chunk_rows: int = 1000
    batch_stale_seconds: float = 30.0
    poll_seconds: float = 2.0
    session_ttl_seconds: int = 12 * 3600
    cookie_secure: bool = False
    bootstrap_draws: int = 200
    audit_per_period: int = 30
    audit_seed: str = "vocml-audit"
    public_url: str = "http://127.0.0.1:8000"
    auth_cache_seconds: float = 2.0
    metrics_dir: Path | None = None
    batch_helper_min_bytes: int = 5 * 1024 * 1024
    models_dir: Path = Path("./var/models")
    retrain_recipe: Path = DATA_DIR / "train.toml"
    retrain_eval_sets: tuple[Path, ...] = (DATA_DIR / "real" / "dev.jsonl",)
    holdout_percent: int = 20
    reclassify_chunk_rows: int = 500
    model_refresh_seconds: float = 2.0


def metrics_path(settings: Settings) -> Path:
    """The directory of the workers' metrics snapshots."""
    return settings.metrics_dir or settings.spool_dir.parent / "metrics"


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not an integer; set it to a whole number like {default}") from None


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a number; set it to a value like {default}") from None


def get_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``env`` (default: ``os.environ``).

    Raises:
        ConfigError: naming the variable that does not parse.
    """
    env = os.environ if env is None else env
    model_dir = env.get("VOCML_MODEL_DIR")
    holdout = _int(env, "VOCML_HOLDOUT_PERCENT", Settings.holdout_percent)
    if not 1 <= holdout <= 90:
        raise ConfigError(f"VOCML_HOLDOUT_PERCENT={holdout} is out of range; set a whole number from 1 to 90, e.g. 20")
    return Settings(
        database_url=env.get("VOCML_DATABASE_URL") or DEFAULT_DATABASE_URL,
        model_dir=Path(model_dir) if model_dir else None,
        spool_dir=Path(env.get("VOCML_SPOOL_DIR") or "./var/spool"),
        max_upload_bytes=_int(env, "VOCML_MAX_UPLOAD_BYTES", Settings.max_upload_bytes),
        max_chars=_int(env, "VOCML_MAX_CHARS", Settings.max_chars),
        chunk_rows=_int(env, "VOCML_CHUNK_ROWS", Settings.chunk_rows),
        batch_stale_seconds=_float(env, "VOCML_BATCH_STALE_SECONDS", Settings.batch_stale_seconds),
        poll_seconds=_float(env, "VOCML_POLL_SECONDS", Settings.poll_seconds),
        session_ttl_seconds=_int(env, "VOCML_SESSION_TTL_SECONDS", Settings.session_ttl_seconds),
        cookie_secure=(env.get("VOCML_COOKIE_SECURE", "").strip().lower() in ("1", "true", "yes")),
        bootstrap_draws=_int(env, "VOCML_BOOTSTRAP_DRAWS", Settings.bootstrap_draws),
        audit_per_period=_int(env, "VOCML_AUDIT_PER_PERIOD", Settings.audit_per_period),
        audit_seed=env.get("VOCML_AUDIT_SEED") or Settings.audit_seed,
        public_url=env.get("VOCML_PUBLIC_URL") or Settings.public_url,
        auth_cache_seconds=_float(env, "VOCML_AUTH_CACHE_SECONDS", Settings.auth_cache_seconds),
        batch_helper_min_bytes=_int(env, "VOCML_BATCH_HELPER_MIN_BYTES", Settings.batch_helper_min_bytes),
        metrics_dir=Path(env["VOCML_METRICS_DIR"]) if env.get("VOCML_METRICS_DIR") else None,
        models_dir=Path(env.get("VOCML_MODELS_DIR") or "./var/models"),
        retrain_recipe=Path(env.get("VOCML_RETRAIN_RECIPE") or Settings.retrain_recipe),
        retrain_eval_sets=tuple(Path(p) for p in env["VOCML_RETRAIN_EVAL_SETS"].split(os.pathsep) if p)
        if env.get("VOCML_RETRAIN_EVAL_SETS")
        else Settings.retrain_eval_sets,
        holdout_percent=holdout,
        reclassify_chunk_rows=_int(env, "VOCML_RECLASSIFY_CHUNK_ROWS", Settings.reclassify_chunk_rows),
        model_refresh_seconds=_float(env, "VOCML_MODEL_REFRESH_SECONDS", Settings.model_refresh_seconds),
    )
