"""Prediction-powered shares (service/ppi.py): unbiased whatever the model, valid intervals, and the
simulation the issue asks for on real texts the model never trained on."""

from __future__ import annotations

import numpy as np
import pytest

from service.ppi import ScoreSums, ppi_share
from service.trends import ErrorModel
from tests.ppi_simulation import coverage, weakest_domains
from vocml.bundle import default_model_dir, read_card


def _world(rng: np.random.Generator, n: int, share: float, signal: float, model_bias: float) -> tuple[np.ndarray, ...]:
    """Records with true labels and a model whose needs-first probability is shifted by ``model_bias``."""
    is_signal = rng.random(n) < signal
    is_needs = is_signal & (rng.random(n) < share)
    p_signal = np.clip(np.where(is_signal, 0.8, 0.15) + rng.normal(0, 0.1, n), 0.01, 0.99)
    p_needs = np.clip(p_signal * np.clip(np.where(is_needs, 0.7, 0.3) + model_bias + rng.normal(0, 0.1, n), 0, 1), 0, 1)
    return is_needs.astype(float), is_signal.astype(float), p_needs, p_signal - p_needs


def test_scoresums_moments_match_numpy() -> None:
    rng = np.random.default_rng(0)
    needs, pitch = rng.random(500) * 0.5, rng.random(500) * 0.5
    mean, cov = ScoreSums.of(needs, pitch).moments()
    data = np.column_stack([needs, needs + pitch])
    np.testing.assert_allclose(mean, data.mean(axis=0))
    np.testing.assert_allclose(cov, np.cov(data, rowvar=False, ddof=0), atol=1e-12)


def test_a_fully_labelled_period_gives_the_true_share() -> None:
    rng = np.random.default_rng(1)
    yn, ys, pn, pp = _world(rng, 400, share=0.35, signal=0.5, model_bias=0.3)
    est = ppi_share(ScoreSums.of(pn, pp), yn, ys, pn, pp, tune=False)  # the audit is every record
    assert est.share == pytest.approx(yn.sum() / ys.sum())


@pytest.mark.parametrize("bias", [-0.3, 0.0, 0.3])
def test_the_share_is_unbiased_and_covered_however_wrong_the_model(bias: float) -> None:
    """A model that over- or under-states needs-first: the raw model share is off, PPI is not."""
    rng = np.random.default_rng(2)
    covered, errors, model_errors = 0, [], []
    for _ in range(300):
        yn, ys, pn, pp = _world(rng, 600, share=0.4, signal=0.4, model_bias=bias)
        truth = yn.sum() / ys.sum()
        audit = rng.choice(600, 60, replace=False)
        est = ppi_share(ScoreSums.of(pn, pp), yn[audit], ys[audit], pn[audit], pp[audit])
        assert est.share is not None and est.low is not None and est.high is not None
        covered += est.low <= truth <= est.high
        errors.append(est.share - truth)
        model_errors.append(pn.sum() / (pn + pp).sum() - truth)
    assert covered / 300 >= 0.9
    assert abs(np.mean(errors)) < 0.02  # unbiased (within noise)
    if bias:
        assert abs(np.mean(model_errors)) > 0.05  # while the model alone is not


def test_too_few_audit_labels_give_no_estimate() -> None:
    sums = ScoreSums.of(np.array([0.5, 0.2]), np.array([0.3, 0.1]))
    assert ppi_share(sums, np.array([1.0]), np.array([1.0]), np.array([0.5]), np.array([0.3])).share is None
    no_signal = ppi_share(sums, np.zeros(5), np.zeros(5), np.zeros(5), np.zeros(5))
    assert no_signal.share is None or 0.0 <= no_signal.share <= 1.0


def test_on_real_texts_with_30_audit_labels_a_month_ppi_covers_the_true_share() -> None:
    """The issue's simulation: streams of 2,080 records resampled from the real test split (never trained
    on), one team, a weekly share that moves; 30 audit labels for the month; 200 repeated draws."""
    card = read_card(default_model_dir())
    error_model = ErrorModel.from_card(card)
    assert error_model is not None
    result = coverage(error_model, repeats=200, audits=30, seed=0)
    assert result.draws >= 190
    assert result.ppi_covered / result.draws >= 0.90, result.line()
    # in the two domains where the model is weakest on its card (0.11.0: car dealers, auto service), the
    # card's matrix, measured over all domains, no longer describes its errors: only the audit keeps the
    # interval honest
    shifted = coverage(error_model, repeats=200, seed=1, domains=weakest_domains(card))
    assert shifted.ppi_covered / shifted.draws >= 0.90, shifted.line()
    assert shifted.card_covered / shifted.draws < 0.8, shifted.line()


def test_one_stratum_is_exactly_the_single_estimate() -> None:
    from service.ppi import Stratum, ppi_share_strata

    rng = np.random.default_rng(5)
    yn, ys, pn, pp = _world(rng, 500, share=0.5, signal=0.5, model_bias=0.2)
    audit = rng.choice(500, 40, replace=False)
    single = ppi_share(ScoreSums.of(pn, pp), yn[audit], ys[audit], pn[audit], pp[audit])
    strata = ppi_share_strata([Stratum(ScoreSums.of(pn, pp), yn[audit], ys[audit], pn[audit], pp[audit])])
    assert (strata.share, strata.low, strata.high) == pytest.approx((single.share, single.low, single.high))


def test_several_teams_audited_apart_cover_their_shared_share() -> None:
    """Three teams of different sizes, shares and model errors, each with its own 30-label audit: the
    stratified estimate covers the share of all their records together, as a headline needs."""
    from service.ppi import Stratum, ppi_share_strata

    rng = np.random.default_rng(6)
    covered, draws = 0, 200
    for _ in range(draws):
        strata, needs, signal = [], 0.0, 0.0
        for size, share, bias in ((1500, 0.3, 0.3), (600, 0.6, -0.2), (300, 0.5, 0.0)):
            yn, ys, pn, pp = _world(rng, size, share=share, signal=0.4, model_bias=bias)
            needs, signal = needs + yn.sum(), signal + ys.sum()
            audit = rng.choice(size, 30, replace=False)
            strata.append(Stratum(ScoreSums.of(pn, pp), yn[audit], ys[audit], pn[audit], pp[audit]))
        est = ppi_share_strata(strata)
        assert est.low is not None and est.high is not None
        covered += est.low <= needs / signal <= est.high
    assert covered / draws >= 0.9


def test_a_difference_of_two_shares_takes_each_ones_interval() -> None:
    from service.ppi import mover_difference

    d, low, high = mover_difference((0.6, 0.5, 0.7), (0.4, 0.3, 0.45))
    assert d == pytest.approx(0.2)
    assert low == pytest.approx(0.2 - np.hypot(0.1, 0.05)) and high == pytest.approx(0.2 + np.hypot(0.1, 0.1))
