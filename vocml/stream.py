"""Streaming classification of a JSONL or CSV file: bounded memory, input order, optional two processes."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson

from vocml.data import DEFAULT_MAX_CHARS, Record, iter_rows
from vocml.errors import DataError
from vocml.model import Classifier, Prediction

_WORKER_MODEL: Classifier | None = None


@dataclass
class StreamSummary:
    """What a streaming run did: rows read, classified and rejected."""

    rows: int = 0
    classified: int = 0
    rejected: int = 0


def init_worker(model_dir: str, threshold: float | None) -> None:
    """Process-pool initializer: load the bundle once per process, and end the process if its parent
    dies (after a ``kill -9`` of the parent nothing else would end it)."""
    global _WORKER_MODEL
    from vocml.bundle import load_model

    watch_parent()
    _WORKER_MODEL = load_model(model_dir, threshold=threshold)


def watch_parent() -> None:
    """Process-pool initializer: end this helper process as soon as its parent is gone."""
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="vocml-orphan-watch", daemon=True).start()


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    """Poll until this process's parent is gone (it is re-parented), then exit at once."""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(0)


def _worker_model() -> Classifier:
    if _WORKER_MODEL is None:
        raise RuntimeError("worker used before its initializer loaded the model")
    return _WORKER_MODEL


def _classify_in_worker(texts: list[str], ids: list[str], sources: list[str | None]) -> list[str]:
    return _lines(_worker_model(), texts, ids, sources)


def predict_in_worker(texts: list[str], sources: list[str | None] | None = None) -> list[Prediction]:
    """Predictions for ``texts`` (with their sources, when known) from the model :func:`init_worker`
    loaded in this process."""
    return _worker_model().classify(texts, sources=sources)


def _lines(model: Classifier, texts: list[str], ids: list[str], sources: list[str | None]) -> list[str]:
    """Classify and serialise in one place (in the worker, so the parent only writes lines)."""
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    lines = [dumps(pred, option=newline).decode() for pred in model.classify(texts, ids=ids, sources=sources)]
    _settle_heap()
    return lines


def _settle_heap() -> None:
    """Collect this batch's cyclic garbage, then exempt everything still alive from later collections.

    What survives a batch is the model and its caches (chunks seen so far), which only grow; left in
    the collector, every full collection walks all of them again, which costs more as the run goes
    on. After this, a collection only walks what the next batch allocates.
    """
    gc.collect()
    gc.freeze()


def _ready(result: Future[list[str]] | list[str]) -> bool:
    return not isinstance(result, Future) or result.done()


def _row_id(item: Record | DataError) -> str:
    if isinstance(item, Record) and item.id is not None:
        return item.id
    return str(item.line)


def _batches(rows: Iterator[Record | DataError], size: int) -> Iterator[list[Record | DataError]]:
    while True:
        batch = list(islice(rows, size))
        if not batch:
            return
        yield batch


def _error_obj(err: DataError) -> dict[str, Any]:
    row_id = err.record_id if err.record_id is not None else str(err.line)
    return {"id": row_id, "line": err.line, "error": {"field": err.field, "message": err.detail}}


def classify_stream(
    model: Classifier | None,
    source: str | os.PathLike[str] | IO[bytes],
    out: IO[str],
    *,
    batch_size: int = 1000,
    workers: int = 1,
    model_dir: str | os.PathLike[str] | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    progress: Any = None,
    name: str | None = None,
    threshold: float | None = None,
) -> StreamSummary:
    """Classify every row of ``source`` and write one JSON object per input row to ``out``, in order.

    A valid row gives ``{"id", "label", "confidence", "scores", "uncertain", "cues", "evidence"}``
    (``id`` is the row's id or its line number); a rejected row gives ``{"id", "line", "error"}`` so
    nothing is lost. ``workers > 1`` classifies batches in that many processes (``model_dir`` must
    then name the bundle to load in each; ``model`` may be ``None`` so the parent, which only reads
    and writes, does not load it too).

    Args:
        progress: an object with ``update(n_bytes)`` called as input is consumed (a tqdm bar), or ``None``.
        name: the input's file name, to detect its format when ``source`` is a file object.
    """
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"file not found: {path}")
        with path.open("rb") as fh:
            return classify_stream(
                model,
                fh,
                out,
                batch_size=batch_size,
                workers=workers,
                model_dir=model_dir,
                max_chars=max_chars,
                progress=progress,
                name=path.name,
                threshold=threshold,
            )
    summary = StreamSummary()
    rows = iter_rows(source, max_chars=max_chars, name=name)
    position = [0]

    def advance() -> None:
        if progress is not None:
            now = source.tell()
            progress.update(now - position[0])
            position[0] = now

    def emit(batch: list[Record | DataError], lines: list[str]) -> None:
        it = iter(lines)
        for item in batch:
            summary.rows += 1
            if isinstance(item, DataError):
                summary.rejected += 1
                out.write(json.dumps(_error_obj(item), ensure_ascii=False) + "\n")
            else:
                summary.classified += 1
                out.write(next(it))
        advance()

    def work_of(batch: list[Record | DataError]) -> tuple[list[str], list[str], list[str | None]]:
        good = [item for item in batch if isinstance(item, Record)]
        return [r.text for r in good], [_row_id(r) for r in good], [r.source for r in good]

    if workers <= 1:
        if model is None:
            raise ValueError("workers <= 1 classifies in this process and needs the loaded model")
        for batch in _batches(rows, batch_size):
            emit(batch, _lines(model, *work_of(batch)))
        return summary
    if model is None:
        if model_dir is None:
            raise ValueError("workers > 1 needs the loaded model or model_dir to load it from")
        from vocml.bundle import load_model

        model = load_model(model_dir, threshold=threshold)
    # This process classifies too, with workers - 1 helpers forked from it once the model is loaded
    # and warm (cue matcher built): they start at once and share its memory. A helper gets a batch
    # while it has fewer than two queued; otherwise this process classifies the batch itself, so the
    # helpers never idle and the reading, writing and classifying here fill the remaining time.
    model.classify(["warm up the cue matcher before forking"])
    helpers = workers - 1
    global _WORKER_MODEL
    previous, _WORKER_MODEL = _WORKER_MODEL, model
    try:
        if "fork" in multiprocessing.get_all_start_methods():
            pool = ProcessPoolExecutor(max_workers=helpers, mp_context=multiprocessing.get_context("fork"))
        else:  # the helpers load the bundle themselves
            if model_dir is None:
                raise ValueError("workers > 1 without fork needs model_dir so each helper can load the bundle")
            pool = ProcessPoolExecutor(
                max_workers=helpers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=init_worker,
                initargs=(str(model_dir), model.threshold),
            )
        with pool:
            pending: deque[tuple[list[Record | DataError], Future[list[str]] | list[str]]] = deque()
            for batch in _batches(rows, batch_size):
                texts, ids, sources = work_of(batch)
                queued = sum(1 for _, r in pending if isinstance(r, Future) and not r.done())
                if queued < 2 * helpers:
                    pending.append((batch, pool.submit(_classify_in_worker, texts, ids, sources)))
                else:
                    pending.append((batch, _lines(model, texts, ids, sources)))
                # write what is ready, in input order; never hold more than a few batches
                while pending and (len(pending) > 2 * helpers + 2 or _ready(pending[0][1])):
                    done_batch, result = pending.popleft()
                    emit(done_batch, result.result() if isinstance(result, Future) else result)
            while pending:
                done_batch, result = pending.popleft()
                emit(done_batch, result.result() if isinstance(result, Future) else result)
    finally:
        _WORKER_MODEL = previous
    return summary
