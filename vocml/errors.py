"""Every error vocml raises, in one hierarchy.

* VocmlError                       base class; ``code`` is stable and appears in logs and problem types
  x DataError(ValueError)          bad training or upload input; carries ``line`` and ``field``
    + EmptyTextError               text missing, empty or whitespace only
  x ConfigError(ValueError)        unknown or invalid configuration key or value
    + UnknownCueError              a cue name that is not registered
  x ModelArtifactError             missing model, unreadable card, hash or version mismatch
    + NotTrainedError              a model was used before it was trained
  x ScorecardError(ValueError)     an invalid seven-habits scorecard
"""

from __future__ import annotations


class VocmlError(Exception):
    """Base class of every error vocml raises."""

    code = "vocml_error"


class DataError(VocmlError, ValueError):
    """A record in a data file broke the data contract.

    Attributes:
        line: 1-based line (JSONL) or row (CSV, counting the header as line 1) of the record, if known.
        field: the offending field name, if known.
        detail: the bare message, without the location prefix.
        record_id: the row's ``id`` when it could be read, so a rejection can be joined back to its row.
    """

    code = "data_error"

    def __init__(
        self, detail: str, *, line: int | None = None, field: str | None = None, record_id: str | None = None
    ) -> None:
        self.line = line
        self.field = field
        self.record_id = record_id  # the rejected row's own id, when it had a readable one
        self.detail = detail
        where = []
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {detail}" if prefix else detail)


class EmptyTextError(DataError):
    """The text of a record is missing, empty or only whitespace."""

    code = "empty_text"


class ConfigError(VocmlError, ValueError):
    """An unknown or invalid configuration key or value."""

    code = "config_error"


class UnknownCueError(ConfigError):
    """A cue name that is not in the registry."""

    code = "unknown_cue"


class ModelArtifactError(VocmlError):
    """A model bundle is missing, unreadable, tampered with or built with other library versions."""

    code = "model_artifact_error"


class NotTrainedError(ModelArtifactError):
    """A model was used before it was trained."""

    code = "not_trained"


class ScorecardError(VocmlError, ValueError):
    """A seven-habits scorecard that does not validate; ``errors`` lists each problem."""

    code = "scorecard_error"

    def __init__(self, message: str, *, errors: list[dict[str, str]] | None = None) -> None:
        self.errors = errors or []
        super().__init__(message)
