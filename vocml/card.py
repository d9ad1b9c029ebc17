"""The model card: what a model is, how it was built, and how well it did (``card.json``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_THRESHOLD = 0.6  # predictions less confident than this are marked uncertain


@dataclass(frozen=True)
class ModelCard:
    """What a model is, how it was built, and how well it did."""

    version: str
    vocml: str
    sklearn: str
    spacy: str
    labels: list[str]
    params: dict[str, Any]
    seed: int
    data: list[dict[str, Any]]
    metrics: dict[str, Any]
    created: str
    pipeline_sha256: str = ""
    inference_sha256: str = ""  # of inference.npz
    cues_sha256: str = ""  # of the cue registry entries the model was trained with (vocml.cues.registry_digest)
    threshold: float = DEFAULT_THRESHOLD
    evaluations: dict[str, Any] = field(default_factory=dict)
    cue_report: list[dict[str, Any]] = field(default_factory=list)
    numeric: dict[str, str] = field(default_factory=dict)  # numpy and scipy it was fitted with

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-ready data."""
        return asdict(self)
