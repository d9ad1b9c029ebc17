"""Batches: register a spooled upload, then parse, validate, classify and store it in the background.

Each chunk of rows is stored in one transaction together with the batch's counters and its
``rows_consumed`` checkpoint, so a crash or restart loses at most the chunk in flight, which is redone:
a resumed batch skips the rows already consumed and goes on. A batch whose file is gone is marked
failed; the rows it stored stay. Several processes can run workers on the same database: a batch is
claimed with a conditional update and kept with a heartbeat; a stale claim is taken over.
"""

from __future__ import annotations

import logging
import multiprocessing
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.auth import Principal
from service.db import batch_errors, batches, utcnow
from service.errors import NotFoundError
from service.registry import ModelSet
from service.settings import Settings
from service.store import existing_ids, insert_records, record_row
from service.uploads import SpooledFile
from vocml.data import Record, detect_format, iter_rows
from vocml.errors import DataError
from vocml.model import Prediction
from vocml.stream import init_worker, predict_in_worker

log = logging.getLogger("vocml.service.batches")

ACTIVE = ("queued", "running")


def spool_path(settings: Settings, batch_id: str, fmt: str) -> Path:
    """Where a batch's upload waits until the batch is done."""
    return settings.spool_dir / f"{batch_id}.{fmt}"


def check_file(path: Path, *, filename: str | None, fmt: str, max_chars: int) -> None:
    """Read the header and first row now, so a file-level problem is a 422 at upload, not a failed batch."""
    with path.open("rb") as fh:
        rows = iter_rows(fh, fmt=fmt, name=filename, require_team=True, max_chars=max_chars)
        first = next(rows, None)
    if first is None:
        raise DataError("the file has no data rows; add at least one row under the header", field="file")


def count_data_lines(path: Path, fmt: str) -> int | None:
    """Non-empty lines of a CSV (less its header) or JSONL file: the rows to expect, for progress in
    percent from the first poll (a quoted CSV field over several lines makes it an overestimate)."""
    if fmt not in ("csv", "jsonl"):
        return None
    lines = 0
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                lines += 1
    return max(lines - 1, 0) if fmt == "csv" else lines


def create_batch(
    engine: Engine, settings: Settings, upload: SpooledFile, principal: Principal
) -> tuple[dict[str, Any], bool]:
    """Register an upload as a queued batch; return ``(batch, created)``.

    The same content uploaded again under the same team scope returns the first batch (unless it
    failed) and ``created=False``; the new copy is deleted.
    """
    with upload.path.open("rb") as fh:
        fmt = detect_format(upload.filename, fh.read(64))
    try:
        check_file(upload.path, filename=upload.filename, fmt=fmt, max_chars=settings.max_chars)
        with engine.begin() as conn:
            first = conn.execute(
                sa.select(
                    batches.c.id, batches.c.status, batches.c.filename, batches.c.created_at, batches.c.rows_expected
                )
                .where(
                    batches.c.sha256 == upload.sha256,
                    batches.c.scope == principal.scope,
                    batches.c.status != "failed",
                )
                .order_by(batches.c.created_at)
                .limit(1)
            ).first()
            if first is not None:
                upload.path.unlink(missing_ok=True)
                return {
                    "id": first.id,
                    "status": first.status,
                    "filename": first.filename,
                    "created_at": first.created_at,
                    "rows_expected": first.rows_expected,
                }, False
            expected = count_data_lines(upload.path, fmt)
            batch_id = secrets.token_hex(12)
            upload.path.rename(spool_path(settings, batch_id, fmt))
            conn.execute(
                batches.insert().values(
                    id=batch_id,
                    sha256=upload.sha256,
                    scope=principal.scope,
                    filename=upload.filename,
                    fmt=fmt,
                    size_bytes=upload.size,
                    status="queued",
                    rows_expected=expected,
                    token_id=principal.token_id,
                    created_at=utcnow(),
                )
            )
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise
    log.info("batch queued", extra={"event": "batch_queued", "batch": batch_id, "bytes": upload.size})
    return {"id": batch_id, "status": "queued", "filename": upload.filename, "rows_expected": expected}, True


def recent_batches(engine: Engine, principal: Principal, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest batches the principal may see: id, status, file name, counters and times."""
    c = batches.c
    stmt = (
        sa.select(
            c.id,
            c.status,
            c.filename,
            c.scope,
            c.rows_total,
            c.rows_stored,
            c.rows_rejected,
            c.rows_duplicate,
            c.rows_expected,
            c.created_at,
            c.finished_at,
        )
        .order_by(c.created_at.desc())
        .limit(limit * 5 if principal.teams is not None else limit)
    )
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(stmt).mappings() if principal.covers(r["scope"])]
    for row in rows:
        del row["scope"]
    return rows[:limit]


def get_batch(
    engine: Engine,
    batch_id: str,
    principal: Principal,
    *,
    offset: int = 0,
    limit: int = 100,
    duplicates_offset: int = 0,
    duplicates_limit: int = 100,
) -> dict[str, Any]:
    """A batch with one page of its rejected rows and one of its duplicate rows.

    Raises:
        NotFoundError: if it is not visible to the principal.
    """
    with engine.connect() as conn:
        row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).mappings().first()
        if row is None or not principal.covers(row["scope"]):
            raise NotFoundError(f"no batch {batch_id!r} visible to this token")

        def page(kind: str, start: int, size: int) -> list[dict[str, Any]]:
            e = batch_errors.c
            stmt = (
                sa.select(e.line, e.field, e.message)
                .where(e.batch_id == batch_id, e.kind == kind)
                .order_by(e.id)
                .offset(start)
                .limit(size)
            )
            return [dict(r) for r in conn.execute(stmt).mappings()]

        errors = page("rejected", offset, limit)
        duplicates = page("duplicate", duplicates_offset, duplicates_limit)
    total, dup_total = int(row["rows_rejected"]), int(row["rows_duplicate"])
    return {
        **{
            k: row[k]
            for k in (
                "id",
                "status",
                "filename",
                "rows_total",
                "rows_stored",
                "rows_rejected",
                "rows_duplicate",
                "rows_expected",
                "created_at",
                "finished_at",
                "error",
            )
        },
        "errors": errors,
        "errors_total": total,
        "errors_next_offset": offset + limit if offset + limit < total else None,
        "duplicates": duplicates,
        "duplicates_next_offset": (
            duplicates_offset + duplicates_limit if duplicates_offset + duplicates_limit < dup_total else None
        ),
    }


class LostClaim(Exception):
    """Another worker took the batch over (our heartbeat went stale)."""


class BatchWorker:
    """A background thread that processes queued batches, owned by the app's lifespan.

    Large batches (``batch_helper_min_bytes`` and up) are classified in a helper process, one chunk
    ahead, while this thread parses and stores: classification is most of a row's cost and would
    otherwise leave the second core idle. Chunks are still stored one at a time, in order, each with
    its checkpoint; if the helper dies, this thread classifies the rest itself.

    Args:
        on_rows: called with ``(stored, rejected)`` after each chunk (metrics).
        model_dir: the bundle the helper process loads (``None``: no helper).
    """

    def __init__(
        self,
        engine: Engine,
        models: ModelSet,
        settings: Settings,
        on_rows: Callable[[int, int], None] | None = None,
        model_dir: Path | None = None,
    ) -> None:
        self.engine = engine
        self.models = models
        self.classifier = models.shipped
        # The shipped bundle a helper process can load to classify large batches beside this thread
        # (rows of teams served by a retrained version stay in this thread); None (e.g. a classifier
        # built in memory) keeps all classification in this thread.
        self.model_dir = model_dir
        self.settings = settings
        self.on_rows = on_rows
        self.owner = secrets.token_hex(8)
        self.stop_after_chunks: int | None = None  # tests: simulate a crash after this many chunks
        self.helper_chunks = 0  # chunks classified by a helper process (for tests and logs)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vocml-batches", daemon=True)

    def start(self) -> None:
        """Fail batches whose file is gone, then start the thread (which resumes the others)."""
        self.recover()
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the chunk in flight (the batch stays resumable)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def notify(self) -> None:
        """Wake the thread: a batch was queued."""
        self._wake.set()

    def recover(self) -> None:
        """Mark queued or running batches whose spool file is missing as failed (stored rows stay), and
        delete spool files no active batch needs (half-received uploads, files of ended batches)."""
        with self.engine.begin() as conn:
            active = conn.execute(sa.select(batches.c.id, batches.c.fmt).where(batches.c.status.in_(ACTIVE))).all()
            needed = {spool_path(self.settings, row.id, row.fmt).name for row in active}
            self._remove_stale_spool(needed)
            for row in active:
                if not spool_path(self.settings, row.id, row.fmt).exists():
                    conn.execute(
                        batches.update()
                        .where(batches.c.id == row.id, batches.c.status.in_(ACTIVE))
                        .values(
                            status="failed",
                            finished_at=utcnow(),
                            error=(
                                "the upload file was lost in a restart; rows stored before it stay, "
                                "upload the file again"
                            ),
                        )
                    )
                    log.warning("batch failed on recovery", extra={"event": "batch_failed", "batch": row.id})

    def _remove_stale_spool(self, needed: set[str]) -> None:
        stale_before = time.time() - self.settings.batch_stale_seconds
        for path in self.settings.spool_dir.glob("*") if self.settings.spool_dir.is_dir() else []:
            # an upload still arriving in another process is young: leave it
            if path.name not in needed and path.is_file() and path.stat().st_mtime < stale_before:
                path.unlink(missing_ok=True)
                log.info("stale spool file removed", extra={"event": "spool_removed", "file": path.name})

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batch_id = self.claim_next()
            except sa.exc.SQLAlchemyError as e:  # the database is away: /healthz says so; try again later
                log.warning("batch worker: no database", extra={"event": "db_unavailable", "error": str(e)})
                batch_id = None
            if batch_id is None:
                self._wake.wait(self.settings.poll_seconds)
                self._wake.clear()
                continue
            try:
                self.process(batch_id)
            except LostClaim:
                log.warning("batch taken over", extra={"event": "batch_lost", "batch": batch_id})
            except Exception as e:  # a bug must not kill the worker: fail the batch, keep its rows
                log.exception("batch crashed", extra={"event": "batch_failed", "batch": batch_id})
                self._finish(
                    batch_id, "failed", f"internal error while processing ({type(e).__name__}); rows stored so far stay"
                )

    def claim_next(self) -> str | None:
        """Claim the oldest queued batch, or a running one whose heartbeat is stale."""
        now = utcnow()
        stale = now - timedelta(seconds=self.settings.batch_stale_seconds)
        claimable = sa.or_(
            batches.c.status == "queued",
            sa.and_(
                batches.c.status == "running", sa.or_(batches.c.heartbeat_at.is_(None), batches.c.heartbeat_at <= stale)
            ),
        )
        with self.engine.begin() as conn:
            candidates = (
                conn.execute(sa.select(batches.c.id).where(claimable).order_by(batches.c.created_at).limit(5))
                .scalars()
                .all()
            )
            for batch_id in candidates:
                result = conn.execute(
                    batches.update()
                    .where(batches.c.id == batch_id, claimable)
                    .values(status="running", owner=self.owner, heartbeat_at=now)
                )
                if result.rowcount == 1:
                    return str(batch_id)
        return None

    def process(self, batch_id: str) -> None:
        """Process a claimed batch from its checkpoint to the end."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(batches).where(batches.c.id == batch_id)).mappings().one()
        path = spool_path(self.settings, batch_id, row["fmt"])
        if not path.exists():
            self._finish(
                batch_id, "failed", "the upload file is missing; rows stored before stay, upload the file again"
            )
            return
        teams = None if row["scope"] == "*" else frozenset(row["scope"].split(","))
        consumed = int(row["rows_consumed"])
        default_time = row["created_at"]
        chunks = 0
        log.info("batch running", extra={"event": "batch_running", "batch": batch_id, "resume_from": consumed})
        helper = self._helper_for(path)
        try:
            with path.open("rb") as fh:
                items = iter_rows(
                    fh, fmt=row["fmt"], name=row["filename"], require_team=True, max_chars=self.settings.max_chars
                )
                fatal: DataError | None = None

                def read_ahead() -> _Chunk | None:
                    nonlocal fatal
                    try:
                        return self._prepare(items, teams, helper)
                    except DataError as e:  # the file cannot be read on: store what came before, then fail
                        fatal = e
                        return None

                try:
                    for _ in islice(items, consumed):
                        pass
                except DataError as e:
                    fatal = e
                ahead = read_ahead() if fatal is None else None
                while ahead is not None:
                    current = ahead
                    ahead = read_ahead()  # the helper classifies it while this chunk is stored
                    self._store_chunk(batch_id, current, consumed, default_time)
                    consumed += len(current.chunk)
                    chunks += 1
                    if self.stop_after_chunks is not None and chunks >= self.stop_after_chunks:
                        self._stop.set()  # simulated crash: this worker stops for good
                    if self._stop.is_set():
                        return  # left 'running' with its checkpoint; resumed by the next worker
                if fatal is not None:
                    self._finish(batch_id, "failed", str(fatal))
                    return
        finally:
            if helper is not None:
                helper.shutdown(wait=False, cancel_futures=True)
        self._finish(batch_id, "done", None)

    def _helper_for(self, path: Path) -> ProcessPoolExecutor | None:
        """A one-process pool that loads the bundle, for a file big enough to repay its start-up."""
        if self.model_dir is None or self.settings.batch_helper_min_bytes < 0:
            return None
        if path.stat().st_size < self.settings.batch_helper_min_bytes:
            return None
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),  # never fork a process that runs threads
            initializer=init_worker,
            initargs=(str(self.model_dir), self.classifier.threshold),
        )

    def _prepare(
        self, items: Iterator[Record | DataError], teams: frozenset[str] | None, helper: ProcessPoolExecutor | None
    ) -> _Chunk | None:
        """Read the next chunk, sort out its rejected rows and known ids, and start classifying the rest."""
        chunk = list(islice(items, self.settings.chunk_rows))
        if not chunk:
            return None
        errors: list[dict[str, Any]] = []
        valid: list[Record] = []
        for item in chunk:
            if isinstance(item, DataError):
                errors.append({"line": item.line, "field": item.field, "message": item.detail})
            elif teams is not None and item.team not in teams:
                errors.append(
                    {
                        "line": item.line,
                        "field": "team",
                        "message": "this token may not write this row's team; upload it with a token for that team",
                    }
                )
            else:
                valid.append(item)
        with self.engine.connect() as conn:
            known = existing_ids(conn, [(r.team, r.id) for r in valid if r.id is not None])  # type: ignore[misc]
        fresh, duplicates = _dedupe(valid, known)
        future = None
        shipped = self.classifier.version
        if fresh and helper is not None and all(self.models.version_for(r.team) == shipped for r in fresh):
            try:
                future = helper.submit(predict_in_worker, [r.text for r in fresh], [r.source for r in fresh])
            except BrokenProcessPool:
                future = None
        return _Chunk(chunk, errors, fresh, duplicates, future)

    def _predictions(self, prepared: _Chunk) -> tuple[list[Prediction], list[str | None]]:
        """The chunk's predictions and the version that made each."""
        if not prepared.fresh:
            return [], []
        if prepared.future is not None:
            try:
                predictions = list(prepared.future.result())
                self.helper_chunks += 1
                return predictions, [self.classifier.version] * len(predictions)
            except BrokenProcessPool:
                log.warning(
                    "batch helper process died; classifying in the worker thread", extra={"event": "helper_lost"}
                )
        return self.models.classify(prepared.fresh)

    def _store_chunk(self, batch_id: str, prepared: _Chunk, consumed: int, default_time: Any) -> None:
        chunk, fresh = prepared.chunk, prepared.fresh
        errors = [{"batch_id": batch_id, "kind": "rejected", **e} for e in prepared.errors]
        predictions, versions = self._predictions(prepared)
        now = utcnow()
        with self.engine.begin() as conn:
            # Re-check inside the transaction: another process (or the chunk before, read ahead of
            # being stored) may have stored some of these meanwhile.
            late = existing_ids(conn, [(r.team, r.id) for r in fresh if r.id is not None])  # type: ignore[misc]
            rows = []
            skipped = list(prepared.duplicates)
            for rec, pred, version in zip(fresh, predictions, versions, strict=True):
                if rec.id is not None and (rec.team, rec.id) in late:
                    skipped.append(rec)
                else:
                    rows.append(
                        record_row(
                            rec,
                            pred,
                            batch_id=batch_id,
                            default_time=default_time,
                            now=now,
                            model_version=version,
                        )
                    )
            raced = {(r["team"], r["external_id"]) for r in insert_records(conn, rows)}
            if raced:  # stored by a concurrent upload after the check above
                skipped += [rec for rec in fresh if (rec.team, rec.id) in raced]
                rows = [r for r in rows if (r["team"], r["external_id"]) not in raced]
            duplicates = len(skipped)
            listed = errors + [_duplicate_entry(batch_id, rec) for rec in skipped]
            if listed:
                conn.execute(batch_errors.insert(), listed)
            result = conn.execute(
                batches.update()
                .where(batches.c.id == batch_id, batches.c.owner == self.owner, batches.c.status == "running")
                .values(
                    rows_consumed=consumed + len(chunk),
                    rows_total=batches.c.rows_total + len(chunk),
                    rows_stored=batches.c.rows_stored + len(rows),
                    rows_rejected=batches.c.rows_rejected + len(errors),
                    rows_duplicate=batches.c.rows_duplicate + duplicates,
                    heartbeat_at=now,
                )
            )
            if result.rowcount != 1:
                raise LostClaim(batch_id)  # rolls the chunk back
        if self.on_rows is not None:
            self.on_rows(len(rows), len(errors))

    def _finish(self, batch_id: str, status: str, error: str | None) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(
                batches.update()
                .where(batches.c.id == batch_id, batches.c.status.in_(ACTIVE))
                .values(status=status, error=error, finished_at=utcnow(), heartbeat_at=utcnow())
                .returning(batches.c.fmt)
            ).first()
        if row is not None:  # an ended batch never reads its file again
            spool_path(self.settings, batch_id, row.fmt).unlink(missing_ok=True)
        log.info("batch finished", extra={"event": f"batch_{status}", "batch": batch_id})


@dataclass
class _Chunk:
    """A chunk read ahead: its rows, rejected rows, new rows to store, duplicates, and their classification."""

    chunk: list[Record | DataError]
    errors: list[dict[str, Any]]
    fresh: list[Record]
    duplicates: list[Record]
    future: Future[list[Prediction]] | None


def _dedupe(valid: list[Record], known: set[tuple[str, str]]) -> tuple[list[Record], list[Record]]:
    """Split rows into new ones and those whose (team, id) is stored or repeats earlier in the chunk."""
    seen: set[tuple[str, str]] = set()
    fresh: list[Record] = []
    duplicates: list[Record] = []
    for rec in valid:
        if rec.id is not None and rec.team is not None:
            key = (rec.team, rec.id)
            if key in known or key in seen:
                duplicates.append(rec)
                continue
            seen.add(key)
        fresh.append(rec)
    return fresh, duplicates


def _duplicate_entry(batch_id: str, rec: Record) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "line": rec.line,
        "field": "id",
        "kind": "duplicate",
        "message": f"a record with id {rec.id!r} is already stored for team {rec.team!r}; this row was skipped",
    }
