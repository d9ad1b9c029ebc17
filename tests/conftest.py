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
