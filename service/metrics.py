"""Prometheus metrics in the text exposition format, summed over every worker process of a server.

Each process counts in memory (:class:`Metrics`) and publishes a snapshot to a shared directory
(:class:`MetricsShare`); ``GET /metrics``, whichever worker answers it, renders the sum of all
snapshots. A worker that exited keeps its file, so totals never go backwards while the server runs;
``vocml serve`` clears the directory when it starts.
"""

from __future__ import annotations

import bisect
import json
import os
import secrets
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    """Request counts and latency by route, texts classified, batch rows stored and rejected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency_buckets: dict[tuple[str, str], list[int]] = {}
        self.latency_sum: dict[tuple[str, str], float] = defaultdict(float)
        self.latency_count: dict[tuple[str, str], int] = defaultdict(int)
        self.texts_classified = 0
        self.batch_rows_stored = 0
        self.batch_rows_rejected = 0

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count a finished request and its latency."""
        with self._lock:
            self.requests[(method, route, str(status))] += 1
            key = (method, route)
            buckets = self.latency_buckets.setdefault(key, [0] * len(BUCKETS))
            index = bisect.bisect_left(BUCKETS, seconds)
            if index < len(BUCKETS):
                buckets[index] += 1
            self.latency_sum[key] += seconds
            self.latency_count[key] += 1

    def add_classified(self, n: int) -> None:
        """Count texts classified by ``/v1/classify`` and batches."""
        with self._lock:
            self.texts_classified += n

    def add_batch_rows(self, stored: int, rejected: int) -> None:
        """Count batch rows stored and rejected."""
        with self._lock:
            self.batch_rows_stored += stored
            self.batch_rows_rejected += rejected
            self.texts_classified += stored

    def snapshot(self) -> dict[str, Any]:
        """Everything counted so far, JSON-ready."""
        with self._lock:
            return {
                "requests": [[*k, n] for k, n in self.requests.items()],
                "latency": [
                    [*k, list(b), self.latency_sum[k], self.latency_count[k]] for k, b in self.latency_buckets.items()
                ],
                "texts_classified": self.texts_classified,
                "batch_rows_stored": self.batch_rows_stored,
                "batch_rows_rejected": self.batch_rows_rejected,
            }

    @classmethod
    def combined(cls, snapshots: list[dict[str, Any]]) -> Metrics:
        """A :class:`Metrics` holding the sum of ``snapshots``."""
        total = cls()
        for snap in snapshots:
            for method, route, status, n in snap.get("requests", []):
                total.requests[(method, route, str(status))] += int(n)
            for method, route, buckets, seconds, count in snap.get("latency", []):
                key = (method, route)
                mine = total.latency_buckets.setdefault(key, [0] * len(BUCKETS))
                for i, n in enumerate(buckets[: len(BUCKETS)]):
                    mine[i] += int(n)
                total.latency_sum[key] += float(seconds)
                total.latency_count[key] += int(count)
            total.texts_classified += int(snap.get("texts_classified", 0))
            total.batch_rows_stored += int(snap.get("batch_rows_stored", 0))
            total.batch_rows_rejected += int(snap.get("batch_rows_rejected", 0))
        return total

    def render(self) -> str:
        """The text exposition format."""
        out: list[str] = []
        with self._lock:
            out.append("# HELP vocml_http_requests_total HTTP requests by method, route and status.")
            out.append("# TYPE vocml_http_requests_total counter")
            for (method, route, status), n in sorted(self.requests.items()):
                out.append(
                    f'vocml_http_requests_total{{method="{method}",route="{_escape(route)}",status="{status}"}} {n}'
                )
            out.append("# HELP vocml_http_request_duration_seconds HTTP request latency.")
            out.append("# TYPE vocml_http_request_duration_seconds histogram")
            for (method, route), buckets in sorted(self.latency_buckets.items()):
                labels = f'method="{method}",route="{_escape(route)}"'
                cumulative = 0
                for bound, n in zip(BUCKETS, buckets, strict=True):
                    cumulative += n
                    out.append(f'vocml_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {cumulative}')
                count = self.latency_count[(method, route)]
                out.append(f'vocml_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {count}')
                out.append(
                    f"vocml_http_request_duration_seconds_sum{{{labels}}} {self.latency_sum[(method, route)]:.6f}"
                )
                out.append(f"vocml_http_request_duration_seconds_count{{{labels}}} {count}")
            for name, value, help_text in (
                ("vocml_texts_classified_total", self.texts_classified, "Texts classified (API and batches)."),
                ("vocml_batch_rows_stored_total", self.batch_rows_stored, "Batch rows stored."),
                ("vocml_batch_rows_rejected_total", self.batch_rows_rejected, "Batch rows rejected."),
            ):
                out.append(f"# HELP {name} {help_text}")
                out.append(f"# TYPE {name} counter")
                out.append(f"{name} {value}")
        return "\n".join(out) + "\n"


class MetricsShare:
    """Where the worker processes of one server publish their :class:`Metrics` snapshots.

    Args:
        directory: shared by the workers (created if missing).
        metrics: this process's metrics.
    """

    def __init__(self, directory: Path, metrics: Metrics) -> None:
        self.directory = directory
        self.metrics = metrics
        self.path = directory / f"{os.getpid()}-{secrets.token_hex(4)}.json"

    def publish(self) -> None:
        """Write this process's snapshot (atomically: readers never see half a file)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.metrics.snapshot()), encoding="utf-8")
        tmp.replace(self.path)

    def render(self) -> str:
        """The sum over every published snapshot, this process's counted live."""
        snapshots = [self.metrics.snapshot()]
        if self.directory.is_dir():
            for path in sorted(self.directory.glob("*.json")):
                if path == self.path:
                    continue
                try:
                    snapshots.append(json.loads(path.read_text(encoding="utf-8")))
                except (OSError, ValueError):
                    continue  # a file being replaced or damaged: skip it this time
        return Metrics.combined(snapshots).render()

    @staticmethod
    def clear(directory: Path) -> None:
        """Remove every snapshot (a new server starts from zero)."""
        if directory.is_dir():
            for path in directory.glob("*.json"):
                path.unlink(missing_ok=True)
