"""Request coalescing for ``/v1/classify``: concurrent requests share one ``classify`` call.

The model's cost per call is partly fixed (sparse matrices, calibration), so classifying the texts of
several concurrent requests together is cheaper than one by one. No request waits for a timer: requests
that arrive while a call runs queue up and go together in the next call.

A call of up to ``INLINE_MAX_TEXTS`` texts (about a millisecond each) runs on the event loop itself:
handing it to a worker thread and back costs more than the call, and the model holds the GIL anyway.
Larger calls run in the threadpool so the loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.concurrency import run_in_threadpool

from vocml.model import Prediction

MAX_TEXTS_PER_CALL = 2000
INLINE_MAX_TEXTS = 8


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
                    if len(texts) <= INLINE_MAX_TEXTS:
                        predictions = self.classifier.classify(texts)
                    else:
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
