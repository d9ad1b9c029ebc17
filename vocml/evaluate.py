"""Evaluation: macro-F1, per-label and per-source scores, the confusion matrix and calibration (ECE)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from vocml.data import LABELS, Record
from vocml.model import Classifier

ECE_BINS = 10


def _bins(proba: np.ndarray, y_true: Sequence[int], bins: int) -> list[tuple[float, float, int, float, float]]:
    """Equal-width confidence bins: (low, high, count, mean confidence, accuracy) each, unrounded."""
    proba = np.asarray(proba, dtype=np.float64)
    conf = proba.max(axis=1) if len(proba) else np.zeros(0)
    correct = (proba.argmax(axis=1) == np.asarray(y_true)) if len(proba) else np.zeros(0, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mask = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        n = int(mask.sum())
        mean_conf = float(conf[mask].mean()) if n else 0.0
        accuracy = float(correct[mask].mean()) if n else 0.0
        out.append((float(lo), float(hi), n, mean_conf, accuracy))
    return out


def expected_calibration_error(proba: np.ndarray, y_true: Sequence[int], *, bins: int = ECE_BINS) -> float:
    """Top-label ECE: the confidence-weighted gap between confidence and accuracy over equal-width bins."""
    total = len(proba)
    if total == 0:
        return 0.0
    return float(sum(n / total * abs(conf - acc) for _, _, n, conf, acc in _bins(proba, y_true, bins) if n))


def reliability(proba: np.ndarray, y_true: Sequence[int], *, bins: int = ECE_BINS) -> list[dict[str, float]]:
    """Per-bin confidence, accuracy and count, for a calibration plot."""
    return [
        {"low": round(lo, 2), "high": round(hi, 2), "n": n, "confidence": round(conf, 4), "accuracy": round(acc, 4)}
        for lo, hi, n, conf, acc in _bins(proba, y_true, bins)
    ]


def score(
    y_true: Sequence[str], y_pred: Sequence[str], proba: np.ndarray | None = None, *, labels: Sequence[str] = LABELS
) -> dict[str, Any]:
    """Macro-F1, accuracy, per-label P/R/F1, the confusion matrix and (with ``proba``) ECE.

    ``proba`` columns must be in ``labels`` order.
    """
    labels = list(labels)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out: dict[str, Any] = {
        "n": len(y_true),
        "macro_f1": round(float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)), 4),
        "accuracy": round(float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0, 4),
        "per_label": {
            lab: {
                "precision": round(float(p[i]), 4),
                "recall": round(float(r[i]), 4),
                "f1": round(float(f[i]), 4),
                "support": int(s[i]),
            }
            for i, lab in enumerate(labels)
        },
        "confusion": {
            "labels": labels,
            "matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
            "note": "rows are the true label, columns the predicted label",
        },
    }
    if proba is not None:
        index = {lab: i for i, lab in enumerate(labels)}
        y_idx = [index[y] for y in y_true]
        out["ece"] = round(expected_calibration_error(proba, y_idx), 4)
        out["reliability"] = reliability(proba, y_idx)
        if {"pitch_first", "needs_first"} <= set(labels):
            out["direction"] = direction(y_true, proba, labels=labels)
    return out


def direction(y_true: Sequence[str], proba: np.ndarray, *, labels: Sequence[str] = LABELS) -> float | None:
    """Of the texts that are truly pitch_first or needs_first, the share where the model scores the right
    one of the two above the other (what decides whether a trend points the right way); ``None`` without such texts."""
    pitch, needs = list(labels).index("pitch_first"), list(labels).index("needs_first")
    right = [
        (proba[i, pitch] > proba[i, needs]) if y == "pitch_first" else (proba[i, needs] > proba[i, pitch])
        for i, y in enumerate(y_true)
        if y in ("pitch_first", "needs_first")
    ]
    return round(float(np.mean(right)), 4) if right else None


def evaluate(
    classifier: Classifier, records: Sequence[Record], *, domains: Sequence[str | None] | None = None
) -> dict[str, Any]:
    """Score ``classifier`` on labelled records: overall, per source, per domain and on the hard cases.

    Args:
        domains: each record's domain (e.g. the ``domain`` field of data/real), for a per-domain table.

    Raises:
        ValueError: if a record has no label.
    """
    missing = [r.line for r in records if r.label is None]
    if missing:
        raise ValueError(f"evaluation needs a label on every row; line {missing[0]} has none")
    texts = [r.text for r in records]
    raw = classifier.predict_proba(texts, [r.source for r in records])  # a call note with its source's offsets
    order = [classifier.labels.index(lab) for lab in LABELS]
    proba = raw[:, order]
    y_true = [str(r.label) for r in records]
    y_pred = [LABELS[i] for i in proba.argmax(axis=1)]
    result = score(y_true, y_pred, proba)
    result["per_source"] = {}
    for source in sorted({r.source for r in records if r.source}):
        idx = [i for i, r in enumerate(records) if r.source == source]
        sub = score([y_true[i] for i in idx], [y_pred[i] for i in idx], proba[idx])
        result["per_source"][source] = {k: sub[k] for k in ("n", "macro_f1", "accuracy", "per_label", "ece")}
    if domains is not None:
        result["per_domain"] = {}
        for domain in sorted({d for d in domains if d}):
            idx = [i for i, d in enumerate(domains) if d == domain]
            sub = score([y_true[i] for i in idx], [y_pred[i] for i in idx], proba[idx])
            result["per_domain"][domain] = {k: sub.get(k) for k in ("n", "macro_f1", "accuracy", "ece", "direction")}
            result["per_domain"][domain]["signal"] = sum(y_true[i] != "no_signal" for i in idx)
    hard = [i for i, r in enumerate(records) if r.hard]
    if hard:
        sub = score([y_true[i] for i in hard], [y_pred[i] for i in hard], proba[hard])
        result["hard"] = {k: sub[k] for k in ("n", "macro_f1", "accuracy", "per_label")}
    result["cue_precision"] = cue_precision(classifier, records)
    result["model"] = classifier.version
    return result


def cue_precision(classifier: Classifier, records: Sequence[Record]) -> dict[str, dict[str, Any]]:
    """For each cue the model uses: how often it fired on ``records`` and the share of those whose true
    label is the label the cue stands for (a cue under 0.6 on real text is not trustworthy evidence)."""
    from vocml.cues import CUES

    fired: dict[str, list[bool]] = {}
    for pred, rec in zip(classifier.classify(list(records)), records, strict=True):
        for name in pred.cues:
            fired.setdefault(name, []).append(rec.label == CUES[name].label)
    return {
        name: {
            "label": CUES[name].label,
            "fires": len(fired.get(name, [])),
            "precision": round(float(np.mean(fired[name])), 4) if fired.get(name) else None,
        }
        for name in sorted(CUES)
    }
