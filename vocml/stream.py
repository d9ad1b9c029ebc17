"""Streaming classification of a JSONL or CSV file: bounded memory, input order, optional two processes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import IO, Any

from vocml.data import DEFAULT_MAX_CHARS, Record, iter_rows
from vocml.errors import DataError
from vocml.model import Classifier

_WORKER_MODEL: Classifier | None = None


@dataclass
class StreamSummary:
    """What a streaming run did: rows read, classified and rejected."""

    rows: int = 0
    classified: int = 0
    rejected: int = 0


def _init_worker(model_dir: str, threshold: float | None) -> None:
    global _WORKER_MODEL
    from vocml.bundle import load_model

    _WORKER_MODEL = load_model(model_dir, threshold=threshold)


def _classify_in_worker(texts: list[str]) -> list[dict[str, Any]]:
    assert _WORKER_MODEL is not None  # noqa: S101 - set by the pool initializer
    return [p.to_dict() for p in _WORKER_MODEL.classify(texts)]


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
    return {"id": str(err.line), "line": err.line, "error": {"field": err.field, "message": err.detail}}


def classify_stream(
    model: Classifier,
    source: str | os.PathLike[str] | IO[bytes],
    out: IO[str],
    *,
    batch_size: int = 1000,
    workers: int = 1,
    model_dir: str | os.PathLike[str] | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    progress: Any = None,
    name: str | None = None,
) -> StreamSummary:
    """Classify every row of ``source`` and write one JSON object per input row to ``out``, in order.

    A valid row gives ``{"id", "label", "confidence", "scores", "uncertain", "cues", "evidence"}``
    (``id`` is the row's id or its line number); a rejected row gives ``{"id", "line", "error"}`` so
    nothing is lost. ``workers > 1`` classifies batches in that many processes (``model_dir`` must
    then name the bundle to load in each).

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
                model, fh, out, batch_size=batch_size, workers=workers, model_dir=model_dir,
                max_chars=max_chars, progress=progress, name=path.name,
            )
    summary = StreamSummary()
    rows = iter_rows(source, max_chars=max_chars, name=name)
    position = [0]

    def advance() -> None:
        if progress is not None:
            now = source.tell()
            progress.update(now - position[0])
            position[0] = now

    def emit(batch: list[Record | DataError], results: list[dict[str, Any]]) -> None:
        it = iter(results)
        for item in batch:
            summary.rows += 1
            if isinstance(item, DataError):
                summary.rejected += 1
                obj = _error_obj(item)
            else:
                summary.classified += 1
                obj = next(it)
                obj["id"] = _row_id(item)
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        advance()

    def texts_of(batch: list[Record | DataError]) -> list[str]:
        return [item.text for item in batch if isinstance(item, Record)]

    if workers <= 1:
        for batch in _batches(rows, batch_size):
            emit(batch, [p.to_dict() for p in model.classify(texts_of(batch))])
        return summary
    if model_dir is None:
        raise ValueError("workers > 1 needs model_dir so each process can load the bundle")
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(str(model_dir), model.threshold)) as pool:
        pending: list[tuple[list[Record | DataError], Any]] = []
        for batch in _batches(rows, batch_size):
            pending.append((batch, pool.submit(_classify_in_worker, texts_of(batch))))
            while len(pending) > workers * 2:
                done_batch, fut = pending.pop(0)
                emit(done_batch, fut.result())
        for done_batch, fut in pending:
            emit(done_batch, fut.result())
    return summary
