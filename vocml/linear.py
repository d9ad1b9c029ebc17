"""A temperature-calibrated multinomial logistic regression's probabilities, from its numbers."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class LinearScores:
    """Calibrated probabilities of a fitted ``CalibratedClassifierCV(LogisticRegression, ensemble=False,
    method="temperature")`` from its feature blocks.

    Args:
        coef: the linear model's coefficients, one row per label.
        intercept: its intercepts.
        beta: the temperature calibrator's ``beta_``.
        widths: the number of columns of each feature block, in the union's order.
    """

    def __init__(self, coef: np.ndarray, intercept: np.ndarray, beta: float, widths: list[int]) -> None:
        coef = np.asarray(coef, dtype=np.float64)
        bounds = np.cumsum([0, *widths])
        # Each block's coefficients, transposed and contiguous for sparse @ dense.
        self.blocks = [np.ascontiguousarray(coef[:, lo:hi].T) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.beta = float(beta)

    def decision(self, blocks: list[sp.csr_matrix]) -> np.ndarray:
        """The linear model's decision values, one row per text, from the feature blocks (same order as
        ``widths``)."""
        return self.intercept + sum(
            np.asarray(X @ W, dtype=np.float64) for X, W in zip(blocks, self.blocks, strict=True)
        )

    def probabilities(self, decision: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities from decision values (the temperature, then a softmax).

        ``offsets``: log-probability offsets added after the temperature, one row per text (a record's
        source, :attr:`vocml.compiled.CompiledModel.source_offsets`), or ``None``.
        """
        if np.all((decision >= 0) & (decision <= 1)) and np.allclose(decision.sum(axis=1), 1.0):
            # what scikit-learn does with decision values that look like probabilities
            logits = self.beta * np.log(decision + 1e-12)
        else:
            logits = self.beta * decision
        if offsets is not None:
            logits = logits + offsets
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        logits[(logits > 1.0) & (logits <= 1.0 + 1e-5)] = 1.0
        return logits
