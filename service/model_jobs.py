"""The model worker: a background thread that trains queued versions and runs re-classifications.

Training runs in a helper process (spawned, one at a time) so the request threads keep the CPU they need;
this thread beats the version's heartbeat while it waits and writes the stage and progress. A version
whose worker died (``kill -9``, a restart) while training is taken over by the next worker that finds its
heartbeat stale and trained again from the start (a half-written bundle is never loaded: the directory is
replaced). Re-classification runs go chunk by chunk from their checkpoint (:mod:`service.reclassify`).
Several processes can run workers on one database: jobs are claimed with conditional updates.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import secrets
import shutil
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.db import model_versions, utcnow
from service.reclassify import LostRun, claim_run, run_chunk
from service.registry import ModelSet
from service.retrain import STAGES, evaluate_versions, held_out, labelled_records, train_bundle, write_jsonl
from service.settings import Settings
from vocml.errors import VocmlError
from vocml.stream import watch_parent

log = logging.getLogger("vocml.service.model_jobs")


class LostClaim(Exception):
    """Another worker took the job over."""


class ModelWorker:
    """Trains queued versions and re-labels stored records after a promotion; owned by the app's lifespan."""

    def __init__(self, engine: Engine, models: ModelSet, settings: Settings) -> None:
        self.engine = engine
        self.models = models
        self.settings = settings
        self.owner = secrets.token_hex(8)
        self.stop_after_chunks: int | None = None  # tests: simulate a crash after this many chunks
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vocml-models", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the chunk in flight (a training in progress is abandoned and taken over later)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def notify(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.step()
            except sa.exc.SQLAlchemyError as e:  # the database is away: /healthz says so; try again later
                log.warning("model worker: no database", extra={"event": "db_unavailable", "error": str(e)})
                busy = False
            except Exception:  # noqa: BLE001 - the worker must outlive one bad job; it is logged
                log.exception("model job failed", extra={"event": "model_job_error"})
                busy = False
            if not busy:
                self._wake.wait(self.settings.poll_seconds)
                self._wake.clear()

    def step(self) -> bool:
        """Do one unit of work (a whole training, or one re-classification run); ``False`` if none."""
        version = self.claim_training()
        if version is not None:
            self.train(version)
            return True
        run = claim_run(self.engine, self.owner, self.settings.batch_stale_seconds)
        if run is not None:
            chunks = 0
            try:
                while not self._stop.is_set() and run_chunk(
                    self.engine, self.models, run, self.owner, self.settings.reclassify_chunk_rows
                ):
                    chunks += 1
                    if self.stop_after_chunks is not None and chunks >= self.stop_after_chunks:
                        self._stop.set()  # simulated crash: the run stays 'running' with its checkpoint
            except LostRun:
                log.warning("re-classification taken over", extra={"event": "reclassify_lost", "run": run["id"]})
            return True
        return False

    # --- training ------------------------------------------------------------------------------

    def claim_training(self) -> str | None:
        now = utcnow()
        stale = now - timedelta(seconds=self.settings.batch_stale_seconds)
        c = model_versions.c
        claimable = sa.or_(c.status == "queued", sa.and_(c.status == "training", c.heartbeat_at < stale))
        with self.engine.begin() as conn:
            for version in conn.execute(
                sa.select(c.version).where(claimable).order_by(c.created_at).limit(5)
            ).scalars():
                result = conn.execute(
                    model_versions.update()
                    .where(c.version == version, claimable)
                    .values(status="training", owner=self.owner, heartbeat_at=now)
                )
                if result.rowcount == 1:
                    return str(version)
        return None

    def _progress(self, version: str, step: int, stage: str | None = None, **values: Any) -> None:
        c = model_versions.c
        with self.engine.begin() as conn:
            result = conn.execute(
                model_versions.update()
                .where(c.version == version, c.owner == self.owner)
                .values(stage=stage or STAGES[step], progress_done=step, heartbeat_at=utcnow(), **values)
            )
        if result.rowcount != 1:
            raise LostClaim(version)

    def _beat(self, version: str) -> None:
        """Keep the claim fresh while the helper trains (another worker takes a stale one over)."""
        c = model_versions.c
        with self.engine.begin() as conn:
            result = conn.execute(
                model_versions.update().where(c.version == version, c.owner == self.owner).values(heartbeat_at=utcnow())
            )
        if result.rowcount != 1:
            raise LostClaim(version)

    def train(self, version: str) -> None:
        """Collect, train, evaluate; the version ends ``trained`` or ``failed`` (with the reason)."""
        try:
            self._train(version)
        except LostClaim:
            log.warning("training taken over", extra={"event": "retrain_lost", "version": version})
        except Exception as e:  # noqa: BLE001 - any failure ends the version 'failed' with its reason
            reason = str(e) if isinstance(e, VocmlError | OSError | ValueError) else f"{type(e).__name__}: {e}"
            if isinstance(e, BrokenProcessPool):
                reason = "the training process died (out of memory?); start the retrain again"
            log.warning("training failed", extra={"event": "retrain_failed", "version": version, "error": reason})
            shutil.rmtree(self.settings.models_dir / f".{version}.{self.owner}", ignore_errors=True)
            c = model_versions.c
            with self.engine.begin() as conn:
                conn.execute(
                    model_versions.update()
                    .where(c.version == version, c.owner == self.owner)
                    .values(status="failed", error=reason, finished_at=utcnow())
                )

    def _train(self, version: str) -> None:
        from vocml.train import load_config, load_data_config

        settings = self.settings
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(model_versions).where(model_versions.c.version == version)).mappings().one()
        self._progress(version, 1)
        weights = (row["params"] or {}).get("weights") or {}
        with self.engine.connect() as conn:
            labelled = list(labelled_records(conn, str(row["scope"])))
        train_rows: dict[str, list[dict[str, str]]] = {"review": [], "audit": []}
        held = 0
        for rid, team, text, label, kind, source in labelled:
            if held_out(team, rid, settings.holdout_percent):
                held += 1
            else:
                train_row = {"text": text, "label": label, "team": team}
                if source:
                    train_row["source"] = source
                train_rows[kind].append(train_row)
        # Each attempt writes its own directory, moved into place only by the worker that still holds the
        # claim: a helper orphaned by a killed worker can never overwrite the bundle of the attempt after it.
        out_dir = settings.models_dir / version
        attempt = settings.models_dir / f".{version}.{self.owner}"
        work = attempt / "data"
        files, calibrate, rationales, source_offsets = load_data_config(settings.retrain_recipe)
        params = load_config(settings.retrain_recipe)
        paths = [str(p) for p, _ in files]
        file_weights = [float(w) for _, w in files]
        for kind, rows in train_rows.items():
            if rows:
                paths.append(str(write_jsonl(work / f"{kind}.jsonl", rows)))
                file_weights.append(float(weights.get(kind, 2.0)))
        counts = {"review": len(train_rows["review"]), "audit": len(train_rows["audit"]), "held_out": held}
        self._progress(
            version,
            2,
            f"training on the shipped data plus {counts['review']} reviewed and {counts['audit']} audited "
            f"records ({held} held out)",
            params={**(row["params"] or {}), "customer_rows": counts, "recipe": str(settings.retrain_recipe)},
        )
        pool = ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=watch_parent
        )
        try:
            future = pool.submit(
                train_bundle,
                paths,
                file_weights,
                params,
                None if calibrate is None else str(calibrate),
                str(attempt / "bundle"),
                version,
                rationales,
                source_offsets,
            )
            while True:
                try:
                    future.result(timeout=max(1.0, settings.batch_stale_seconds / 3))
                    break
                except FutureTimeout:
                    if self._stop.is_set():
                        raise LostClaim(version) from None  # stopping: another worker takes it over
                    self._beat(version)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            shutil.rmtree(work, ignore_errors=True)
        self._progress(version, 3)  # still ours: put the bundle in place
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(attempt / "bundle", out_dir)
        shutil.rmtree(attempt, ignore_errors=True)
        new_model = self.models.load(version)
        with self.engine.connect() as conn:
            evaluation = evaluate_versions(
                conn,
                self.models,
                new_model,
                str(row["scope"]),
                eval_sets=settings.retrain_eval_sets,
                holdout_percent=settings.holdout_percent,
            )
        self._progress(version, 4, status="trained", evaluation=evaluation, finished_at=utcnow())
        log.info("retrain ready", extra={"event": "retrain_trained", "version": version})


__all__ = ["ModelWorker"]
