"""The calibrated linear model's probabilities, summed block by block, equal scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tests.ngram_oracle import CORPUS
from vocml.linear import LinearScores
from vocml.model import Classifier


@pytest.fixture(scope="module")
def tiny_classifier(tiny_bundle):  # type: ignore[no-untyped-def]
    from vocml.bundle import load_model

    return load_model(tiny_bundle)


def test_blocks_sum_like_the_stacked_matrix(tiny_classifier: Classifier) -> None:
    X, _ = tiny_classifier.features(CORPUS)
    assert sp.issparse(X) and X.shape[0] == len(CORPUS)
    pipeline = tiny_classifier.pipeline
    scaled = pipeline.named_steps["scale"].transform(X)  # the union's columns, scaled as the model was fitted on
    expected = pipeline.named_steps["clf"].predict_proba(scaled)
    np.testing.assert_allclose(tiny_classifier.predict_proba(CORPUS), expected, rtol=1e-6, atol=1e-9)


def test_probabilities_are_a_distribution_whatever_the_blocks() -> None:
    rng = np.random.default_rng(0)
    coef = rng.normal(size=(3, 7))
    scores = LinearScores(coef, np.zeros(3), 1.3, [4, 3])
    blocks = [
        sp.random(5, 4, density=0.5, format="csr", random_state=1),
        sp.random(5, 3, density=0.5, format="csr", random_state=2),
    ]
    proba = scores.probabilities(scores.decision(blocks))
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # the same as a softmax of the temperature-scaled decision
    decision = sp.hstack(blocks).toarray() @ coef.T
    expected = np.exp(1.3 * decision - (1.3 * decision).max(axis=1, keepdims=True))
    np.testing.assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), rtol=1e-9)
