"""Weak supervision: cues label unlabeled text, a label model combines their votes into silver labels.

In the spirit of Snorkel: every cue is a labelling function that votes its label or abstains. The
:class:`LabelModel` learns each cue's accuracy from the cues' agreement (EM over a one-coin
Dawid-Skene model) and from whatever gold labels exist (gold rows are clamped to their label and
seed the accuracies), then gives each text a probability over the labels. :func:`cue_report`
describes every cue: coverage, overlap, conflict, accuracy against gold and learned weight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vocml.cues import CUES, match_texts
from vocml.data import LABELS, Record

ABSTAIN = -1


def vote_matrix(texts: Sequence[str], cue_names: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """The (n_texts, n_cues) vote matrix: the label index a cue votes, or ``ABSTAIN``."""
    names = list(cue_names or CUES)
    label_index = {lab: i for i, lab in enumerate(LABELS)}
    L = np.full((len(texts), len(names)), ABSTAIN, dtype=np.int8)
    for i, hits in enumerate(match_texts(texts)):
        for j, name in enumerate(names):
            if name in hits:
                L[i, j] = label_index[CUES[name].label]
    return L, names


@dataclass
class LabelModel:
    """One-coin Dawid-Skene label model fitted by EM.

    Parameters
    ----------
    n_iter : int
        EM iterations.
    prior_accuracy : float
        Starting accuracy of a cue with no gold evidence.
    smoothing : float
        Pseudo-counts toward ``prior_accuracy`` when estimating accuracies.
    min_accuracy : float
        Floor for a cue's accuracy: as in Snorkel, a labelling function is assumed better than chance,
        which keeps EM from the degenerate solution where one label absorbs everything.

    The class balance is taken from the gold labels (uniform without gold) and kept fixed.
    """

    n_iter: int = 100
    prior_accuracy: float = 0.7
    smoothing: float = 5.0
    min_accuracy: float = 0.45

    def fit(self, L: np.ndarray, y_gold: np.ndarray | None = None) -> LabelModel:
        """Learn cue accuracies and the class balance. ``y_gold`` has a label index or -1 per row."""
        n, m = L.shape
        k = len(LABELS)
        gold = np.full(n, -1) if y_gold is None else np.asarray(y_gold)
        acc = np.full(m, self.prior_accuracy)
        has_gold = gold >= 0
        for j in range(m):
            voted = has_gold & (L[:, j] != ABSTAIN)
            if voted.any():
                correct = float((L[voted, j] == gold[voted]).sum())
                acc[j] = (correct + self.smoothing * self.prior_accuracy) / (voted.sum() + self.smoothing)
        self.class_prior_ = np.full(k, 1.0 / k)
        if has_gold.any():
            counts = np.bincount(gold[has_gold], minlength=k) + 1.0
            self.class_prior_ = counts / counts.sum()
        self.accuracy_ = np.clip(acc, self.min_accuracy, 0.99)
        for _ in range(self.n_iter):
            post = self._posterior(L)
            post[has_gold] = np.eye(k)[gold[has_gold]]
            votes = L != ABSTAIN
            new_acc = np.empty(m)
            for j in range(m):
                rows = votes[:, j]
                agree = post[rows, L[rows, j]].sum() if rows.any() else 0.0
                new_acc[j] = (agree + self.smoothing * self.prior_accuracy) / (rows.sum() + self.smoothing)
            new_acc = np.clip(new_acc, self.min_accuracy, 0.99)
            done = np.abs(new_acc - self.accuracy_).max() < 1e-6
            self.accuracy_ = new_acc
            if done:
                break
        return self

    def _posterior(self, L: np.ndarray) -> np.ndarray:
        k = len(LABELS)
        log_p = np.tile(np.log(self.class_prior_), (L.shape[0], 1))
        log_right = np.log(self.accuracy_)
        log_wrong = np.log((1 - self.accuracy_) / (k - 1))
        for j in range(L.shape[1]):
            col = L[:, j]
            rows = col != ABSTAIN
            if not rows.any():
                continue
            contrib = np.tile(log_wrong[j], (rows.sum(), k))
            contrib[np.arange(rows.sum()), col[rows]] = log_right[j]
            log_p[rows] += contrib
        log_p -= log_p.max(axis=1, keepdims=True)
        p = np.exp(log_p)
        return p / p.sum(axis=1, keepdims=True)

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """Probability of each label (columns in ``LABELS`` order) for each row of ``L``."""
        return self._posterior(L)


def cue_report(
    L: np.ndarray, names: Sequence[str], y_gold: np.ndarray | None = None, model: LabelModel | None = None
) -> list[dict[str, Any]]:
    """Per cue: label, coverage, overlap, conflict, gold accuracy (and support) and learned accuracy."""
    n = max(L.shape[0], 1)
    votes = L != ABSTAIN
    n_votes = votes.sum(axis=1)
    out = []
    for j, name in enumerate(names):
        mine = votes[:, j]
        others = n_votes - mine
        conflict = np.zeros(L.shape[0], dtype=bool)
        for jj in range(L.shape[1]):
            if jj != j:
                conflict |= mine & votes[:, jj] & (L[:, jj] != L[:, j])
        row: dict[str, Any] = {
            "cue": name,
            "label": CUES[name].label if name in CUES else None,
            "coverage": round(float(mine.sum() / n), 4),
            "overlap": round(float((mine & (others > 0)).sum() / n), 4),
            "conflict": round(float(conflict.sum() / n), 4),
            "gold_support": 0,
            "gold_accuracy": None,
        }
        if y_gold is not None:
            g = (np.asarray(y_gold) >= 0) & mine
            row["gold_support"] = int(g.sum())
            if g.any():
                row["gold_accuracy"] = round(float((L[g, j] == np.asarray(y_gold)[g]).mean()), 4)
        if model is not None:
            row["learned_accuracy"] = round(float(model.accuracy_[j]), 4)
        out.append(row)
    return out


def label_records(
    unlabeled: Sequence[Record], gold: Sequence[Record] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Silver-label ``unlabeled`` records with the label model, fitted on them plus ``gold``.

    Returns:
        (rows, report): rows in the data contract with ``label``, ``label_confidence`` and
        ``label_scores`` added, in input order; and the per-cue report.
    """
    texts = [r.text for r in gold] + [r.text for r in unlabeled]
    L, names = vote_matrix(texts)
    index = {lab: i for i, lab in enumerate(LABELS)}
    y = np.array([index[str(r.label)] for r in gold] + [-1] * len(unlabeled), dtype=np.int64)
    model = LabelModel().fit(L, y)
    proba = model.predict_proba(L[len(gold) :])
    rows = []
    for rec, p in zip(unlabeled, proba, strict=True):
        k = int(np.argmax(p))
        row = {**rec.to_dict(), "label": LABELS[k], "label_confidence": round(float(p[k]), 4)}
        row["label_scores"] = {lab: round(float(v), 4) for lab, v in zip(LABELS, p, strict=True)}
        rows.append(row)
    return rows, cue_report(L, names, y, model)
