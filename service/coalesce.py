"""Request coalescing for ``/v1/classify``: concurrent requests share one ``classify`` call.

The model's cost per call is mostly fixed (spaCy, sparse matrices, calibration), so classifying the
texts of several concurrent requests together is much cheaper than one by one. No request waits for a
timer: while a call runs in a worker thread, new requests queue up and go together in the next call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.concurrency import run_in_threadpool

from vocml.model import Prediction

MAX_TEXTS_PER_CALL = 2000


class Coalescer:
    """Batches concurrent ``classify`` requests of one process (create it inside the running event loop)."""

    def __init__(self, classifier: Any) -> None:
        self.classifier = classifier
        self._pending: list[tuple[list[Any], asyncio.Future[list[Prediction]]]] = []
        self._busy = False

    async def classify(self, items: list[Any]) -> list[Prediction]:
        """Predictions for ``items``, in order."""
        future: asyncio.Future[list[Prediction]] = asyncio.get_running_loop().create_future()
        self._pending.append((items, future))
        if not self._busy:
            self._busy = True
            asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch: list[tuple[list[Any], asyncio.Future[list[Prediction]]]] = []
                size = 0
                while self._pending and (not batch or size + len(self._pending[0][0]) <= MAX_TEXTS_PER_CALL):
                    entry = self._pending.pop(0)
                    batch.append(entry)
                    size += len(entry[0])
                texts = [item for items, _ in batch for item in items]
                try:
                    predictions = await run_in_threadpool(self.classifier.classify, texts)
                except Exception as e:  # every waiting request gets the error
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(e)
                    continue
                start = 0
                for items, future in batch:
                    if not future.done():
                        future.set_result(predictions[start : start + len(items)])
                    start += len(items)
        finally:
            self._busy = False
