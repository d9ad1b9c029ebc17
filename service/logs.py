"""Structured logs: one JSON object per line, with only allow-listed ``extra`` fields (no secrets, no texts)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

SAFE_FIELDS = (
    "event",
    "method",
    "route",
    "status",
    "duration_ms",
    "token",
    "batch",
    "bytes",
    "rows",
    "code",
    "path",
    "resume_from",
    "model",
)


class JsonFormatter(logging.Formatter):
    """Format a record as JSON with its time, level, logger, message and safe extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in SAFE_FIELDS:
            if name in record.__dict__:
                out[name] = record.__dict__[name]
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send the service's logs (``vocml.*`` and uvicorn's) to stderr as JSON; called by ``vocml serve``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("vocml", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # the service logs its own access lines
