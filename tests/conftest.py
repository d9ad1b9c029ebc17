"""Shared fixtures: the tiny committed corpus, a model overfitted on it, and the shipped model."""

from __future__ import annotations

from pathlib import Path

import pytest

from vocml.data import Record, read_records

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "tests" / "data" / "tiny.jsonl"
DEV = ROOT.parent / "shared" / "data" / "dev.jsonl"


@pytest.fixture(scope="session")
def tiny_records() -> list[Record]:
    """Nine labelled records, three per label."""
    return read_records(TINY, require_label=True)


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model bundle trained (no cross-validation) on the tiny corpus."""
    from vocml.train import train

    out = tmp_path_factory.mktemp("tiny-model") / "0.0.1"
    train([TINY], out, version="0.0.1", folds=0, params={"clf__cv": 3, "clf__estimator__C": 100.0})
    return out


@pytest.fixture(scope="session")
def shipped_model():  # type: ignore[no-untyped-def]
    """The model that ships in models/ (loaded once per session)."""
    from vocml.bundle import load_model

    return load_model()


@pytest.fixture(scope="session")
def call_note_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model bundle trained on twelve call notes and twelve customer comments per label of the project's
    texts, with offsets for call notes fitted on the call notes held out (vocml.train.fit_source_offsets)."""
    import json

    from vocml.data import LABELS
    from vocml.train import train

    rows = [json.loads(line) for line in (ROOT / "data" / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    picked = [
        r
        for source in ("call_note", "customer_comment")
        for label in LABELS
        for r in [r for r in rows if r["source"] == source and r["label"] == label][:12]
    ]
    work = tmp_path_factory.mktemp("call-notes")
    path = work / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in picked), encoding="utf-8")
    out = work / "0.0.2"
    train([path], out, version="0.0.2", folds=0, params={"clf__cv": 3}, source_offsets=["call_note"], n_jobs=1)
    return out
