"""Prediction-powered inference (Angelopoulos et al., Science 2023; PPI++ power tuning, arXiv 2311.01453)
for the needs-first share of a period.

The share is a ratio of two means over the period's records: ``r = E[Y_n] / E[Y_s]`` with ``Y_n = 1`` for a
needs-first text and ``Y_s = 1`` for a text with a signal (needs-first or pitch-first). The model gives
``f_n = P(needs_first)`` and ``f_s = P(needs_first) + P(pitch_first)`` for every record; a uniform random
audit sample of ``n`` records has readers' labels. Each mean is estimated as

    theta_k = lam * mean_N(f_k) + mean_n(Y_k - lam * f_k)

(the model's mean over all ``N`` records, corrected by the audit's mean error), unbiased for any ``lam``
however wrong the model is. The interval holds every share ``r`` for which the PPI estimate of
``E[Y_n - r Y_s]`` is within ``z`` standard errors of zero; PPI++ tunes ``lam`` for each ``r``
(``lam = Cov_n(Y', f') / ((1 + n/N) Var_N(f'))`` with ``Y' = Y_n - r Y_s``, ``f' = f_n - r f_s``, clipped
to [0, 1]) once the audit has enough labelled signal texts, else ``lam = 1`` (classic PPI).

What the model contributes over all records comes in as sums (``ScoreSums``: count, sums and second
moments of the two probabilities), so a period's estimate needs no pass over its records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


@dataclass(frozen=True)
class ScoreSums:
    """Sums over a period's records of the model's needs-first and pitch-first probabilities."""

    n: int
    needs: float
    pitch: float
    nn: float  # sum of needs^2
    np_: float  # sum of needs * pitch
    pp: float  # sum of pitch^2

    @classmethod
    def of(cls, needs: np.ndarray, pitch: np.ndarray) -> ScoreSums:
        needs, pitch = np.asarray(needs, dtype=float), np.asarray(pitch, dtype=float)
        return cls(
            n=len(needs),
            needs=float(needs.sum()),
            pitch=float(pitch.sum()),
            nn=float((needs * needs).sum()),
            np_=float((needs * pitch).sum()),
            pp=float((pitch * pitch).sum()),
        )

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of ``(f_n, f_s)`` over the records."""
        n = max(self.n, 1)
        mean_n, mean_p = self.needs / n, self.pitch / n
        e_nn, e_np, e_pp = self.nn / n, self.np_ / n, self.pp / n
        mean = np.array([mean_n, mean_n + mean_p])
        var_n = e_nn - mean_n**2
        var_s = (e_nn + 2 * e_np + e_pp) - (mean_n + mean_p) ** 2
        cov_ns = (e_nn + e_np) - mean_n * (mean_n + mean_p)
        return mean, np.array([[var_n, cov_ns], [cov_ns, var_s]])


@dataclass(frozen=True)
class ShareEstimate:
    share: float | None
    low: float | None
    high: float | None
    lam: float  # the power-tuning weight used (1: classic PPI)
    n_audit: int


GRID = np.linspace(0.0, 1.0, 1001)  # candidate shares for the test inversion
MIN_SIGNAL_TO_TUNE = 10  # PPI++ tuning with fewer labelled signal texts was noisier than it helped


@dataclass(frozen=True)
class Stratum:
    """One independently audited part of a total (a team, or a source within a team): the model's sums
    over all its records and its audit (readers' 0/1 needs-first and signal labels, with the model's
    probabilities for the same records)."""

    sums: ScoreSums
    labels_needs: np.ndarray
    labels_signal: np.ndarray
    audit_needs: np.ndarray
    audit_pitch: np.ndarray


def _test_curve(st: Stratum, tune: bool | None) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray]:
    """``(theta_n, theta_s, estimate, variance, lam)``: the two PPI means, and at each candidate share of
    ``GRID`` the PPI estimate of ``E[Y_n - r Y_s]`` with its variance and the tuning weight used."""
    yn = np.asarray(st.labels_needs, dtype=float)
    ys = np.asarray(st.labels_signal, dtype=float)
    fn = np.asarray(st.audit_needs, dtype=float)
    fs = fn + np.asarray(st.audit_pitch, dtype=float)
    n, big_n = len(yn), max(st.sums.n, 1)
    if tune is None:
        tune = ys.sum() >= MIN_SIGNAL_TO_TUNE
    f_mean, f_cov = st.sums.moments()
    theta_n = f_mean[0] + float((yn - fn).mean())
    theta_s = f_mean[1] + float((ys - fs).mean())
    r = GRID[:, None]
    y = yn[None, :] - r * ys[None, :]  # (grid, n): the ratio's influence at each candidate share
    f = fn[None, :] - r * fs[None, :]
    f_mean_r = f_mean[0] - GRID * f_mean[1]
    f_var_r = f_cov[0, 0] - 2 * GRID * f_cov[0, 1] + GRID**2 * f_cov[1, 1]
    if tune:
        yc, fc = y - y.mean(axis=1, keepdims=True), f - f.mean(axis=1, keepdims=True)
        cov_yf = (yc * fc).sum(axis=1) / (n - 1)
        denom = (1 + n / big_n) * f_var_r
        lam = np.clip(np.divide(cov_yf, denom, out=np.zeros_like(cov_yf), where=denom > 0), 0.0, 1.0)
    else:
        lam = np.ones(len(GRID))
    resid = y - lam[:, None] * f
    estimate = lam * f_mean_r + resid.mean(axis=1)
    variance = lam**2 * np.maximum(f_var_r, 0.0) / big_n + resid.var(axis=1, ddof=1) / n
    return theta_n, theta_s, estimate, variance, lam


def _invert(
    theta_n: float, theta_s: float, estimate: np.ndarray, variance: np.ndarray, lam: np.ndarray, n: int, z: float
) -> ShareEstimate:
    share = min(max(theta_n / theta_s, 0.0), 1.0) if theta_s > 0 else None
    inside = np.abs(estimate) <= z * np.sqrt(np.maximum(variance, 0.0))
    at = int(np.argmin(np.abs(GRID - (share if share is not None else 0.5))))
    lam_used = float(lam[at])
    if share is None:
        return ShareEstimate(None, None, None, lam_used, n)
    if not inside.any():  # no share is consistent with the audit at this level: the point alone
        return ShareEstimate(share, share, share, lam_used, n)
    low, high = float(GRID[inside].min()), float(GRID[inside].max())
    return ShareEstimate(share, min(low, share), max(high, share), lam_used, n)


def ppi_share(
    sums: ScoreSums,
    labels_needs: np.ndarray,
    labels_signal: np.ndarray,
    audit_needs: np.ndarray,
    audit_pitch: np.ndarray,
    *,
    tune: bool | None = None,
    z: float = Z95,
) -> ShareEstimate:
    """The needs-first share of a period and its interval from the model's sums over all its records and
    an audit sample (readers' labels as 0/1 needs-first and signal indicators, with the model's
    probabilities for the same records).

    The point estimate is the ratio of the two PPI means. The interval inverts the PPI test of
    ``E[Y_n - r Y_s] = 0`` over a grid of shares ``r`` (Fieller's construction): a ratio whose denominator
    rests on a handful of labelled signal texts is badly served by the delta method. ``tune=None``
    applies PPI++ power tuning (per ``r``) once the audit holds ``MIN_SIGNAL_TO_TUNE`` signal texts.
    """
    stratum = Stratum(sums, labels_needs, labels_signal, audit_needs, audit_pitch)
    n = len(stratum.labels_needs)
    if n < 2:
        return ShareEstimate(None, None, None, 1.0, n)
    return _invert(*_test_curve(stratum, tune), n, z)


def ppi_share_strata(strata: list[Stratum], *, z: float = Z95) -> ShareEstimate:
    """The share over several independently audited strata (e.g. the teams of a headline, each with its
    own audit sample): each stratum's PPI means weighted by its share of the records, the test of
    ``E[Y_n - r Y_s] = 0`` summed the same way (variances add with the squared weights: the audits are
    independent), then inverted as in :func:`ppi_share`. Every stratum needs at least two audit labels."""
    if not strata or any(len(st.labels_needs) < 2 for st in strata):
        return ShareEstimate(None, None, None, 1.0, sum(len(st.labels_needs) for st in strata))
    total = sum(max(st.sums.n, 1) for st in strata)
    theta_n = theta_s = 0.0
    estimate = np.zeros(len(GRID))
    variance = np.zeros(len(GRID))
    lam = np.zeros(len(GRID))
    for st in strata:
        w = max(st.sums.n, 1) / total
        tn, ts, est, var, lam_t = _test_curve(st, None)
        theta_n += w * tn
        theta_s += w * ts
        estimate += w * est
        variance += w * w * var
        lam += w * lam_t
    return _invert(theta_n, theta_s, estimate, variance, lam, sum(len(st.labels_needs) for st in strata), z)


def mover_difference(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple[float, float, float]:
    """``a - b`` with a 95% interval from each share's own interval ``(share, low, high)`` (the MOVER
    construction of Newcombe 1998 / Zou and Donner 2008; with Wilson intervals it is Newcombe's hybrid)."""
    (p1, l1, u1), (p2, l2, u2) = a, b
    d = p1 - p2
    low = d - float(np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))
    high = d + float(np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    return d, max(-1.0, low), min(1.0, high)
