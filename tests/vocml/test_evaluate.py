"""Evaluation metrics: ECE on known cases, the confusion matrix orientation, the report shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vocml.bundle import load_model
from vocml.data import Record
from vocml.evaluate import evaluate, expected_calibration_error, score

DEV = Path(__file__).resolve().parents[3] / "shared" / "data" / "dev.jsonl"


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    proba = np.array([[0.5, 0.3, 0.2]] * 4)
    assert expected_calibration_error(proba, [0, 0, 1, 2]) == pytest.approx(0.0)


def test_ece_of_overconfident_model() -> None:
    proba = np.array([[0.9, 0.05, 0.05]] * 10)
    assert expected_calibration_error(proba, [0] * 5 + [1] * 5) == pytest.approx(0.4)


def test_confusion_rows_are_true_labels() -> None:
    result = score(["pitch_first", "pitch_first", "no_signal"], ["needs_first", "pitch_first", "no_signal"])
    assert result["confusion"]["labels"] == ["pitch_first", "needs_first", "no_signal"]
    assert result["confusion"]["matrix"] == [[1, 1, 0], [0, 0, 0], [0, 0, 1]]
    assert result["per_label"]["pitch_first"]["recall"] == 0.5


def test_evaluate_reports_sources_and_hard_cases(tiny_bundle: Path, tiny_records: list[Record]) -> None:
    records = [Record(**{**r.to_dict(), "hard": i % 2 == 0, "created_at": None}) for i, r in enumerate(tiny_records)]
    result = evaluate(load_model(tiny_bundle), records)
    assert result["macro_f1"] == 1.0
    assert set(result["per_source"]) == {"call_note", "customer_comment"}
    assert result["hard"]["n"] == 5
    assert 0 <= result["ece"] <= 1
    assert len(result["reliability"]) == 10


def test_evaluate_needs_labels(tiny_bundle: Path) -> None:
    with pytest.raises(ValueError, match="needs a label"):
        evaluate(load_model(tiny_bundle), [Record(text="x", line=3)])


def test_evaluate_reads_each_record_with_its_source(call_note_bundle: Path) -> None:
    """The figures a card records for call notes are those of the labels a user sees for call notes."""
    import json

    model = load_model(call_note_bundle)
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()][:60]
    records = [Record(text=r["text"], source=r["source"], label=r["label"]) for r in rows]
    result = evaluate(model, records)
    labels = [p.label for p in model.classify(records)]
    notes = [i for i, r in enumerate(records) if r.source == "call_note"]
    right = sum(labels[i] == records[i].label for i in notes)
    assert result["per_source"]["call_note"]["accuracy"] == pytest.approx(right / len(notes), abs=1e-4)
