"""Weak supervision: the label model learns cue accuracies and the report describes each cue."""

from __future__ import annotations

import numpy as np

from vocml.data import LABELS, Record
from vocml.weak import ABSTAIN, LabelModel, cue_report, label_records, vote_matrix


def _synthetic(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    accuracies = [0.9, 0.8, 0.75, 0.6, 0.85, 0.7]
    L = np.full((n, len(accuracies)), ABSTAIN, dtype=np.int8)
    for j, acc in enumerate(accuracies):
        fires = rng.random(n) < 0.5
        right = rng.random(n) < acc
        wrong = (y + rng.integers(1, 3, n)) % 3
        L[fires, j] = np.where(right, y, wrong)[fires]
    return L, y


def test_label_model_beats_majority_vote_and_recovers_accuracies() -> None:
    L, y = _synthetic()
    model = LabelModel().fit(L)
    pred = model.predict_proba(L).argmax(axis=1)
    covered = (L != ABSTAIN).any(axis=1)
    assert (pred[covered] == y[covered]).mean() > 0.85
    assert model.accuracy_[0] > model.accuracy_[3]
    assert abs(model.accuracy_[0] - 0.9) < 0.07


def test_gold_labels_seed_the_model() -> None:
    L, y = _synthetic(seed=1)
    gold = np.where(np.arange(len(y)) < 300, y, -1)
    model = LabelModel().fit(L, gold)
    assert abs(model.accuracy_[1] - 0.8) < 0.07


def test_cue_report_fields() -> None:
    L, y = _synthetic(n=200)
    names = ["feature_dump", "price_push", "discovery_question", "felt_heard", "admin_status", "product_issue"]
    report = cue_report(L, names, y, LabelModel().fit(L))
    row = report[0]
    assert row["cue"] == "feature_dump" and row["label"] == "pitch_first"
    assert 0.4 < row["coverage"] < 0.6 and row["overlap"] <= row["coverage"] and row["conflict"] <= row["overlap"]
    assert abs(row["gold_accuracy"] - 0.9) < 0.1 and row["gold_support"] > 50


def test_label_records_gives_a_silver_label_per_row() -> None:
    unlabeled = [
        Record(text="Nobody asked what we needed; the rep pushed a 20% discount.", line=1),
        Record(text="Asked about their goals and pains, summarised them back.", line=2),
    ]
    gold = [Record(text="Invoice is wrong.", label="no_signal", line=1)]
    rows, report = label_records(unlabeled, gold)
    assert [r["text"] for r in rows] == [u.text for u in unlabeled]
    assert rows[0]["label"] == "pitch_first" and rows[1]["label"] == "needs_first"
    assert all(set(r["label_scores"]) == set(LABELS) and 0 < r["label_confidence"] <= 1 for r in rows)
    assert len(report) == vote_matrix(["x"])[0].shape[1]
