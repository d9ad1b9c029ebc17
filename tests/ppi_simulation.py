"""A stream of real texts the model never trained on, with a weekly needs-first share that moves, and
what each adjustment makes of it: shared by tests/service/test_ppi.py and tests/bench/bench_ppi.py.

The stream resamples ``data/real/test.jsonl`` (the locked real test split, never trained on) with the
model's stored probabilities for each text: a share of signal texts per week, and a needs-first share
among them that moves from week to week. Each month, 30 of its records are drawn uniformly for the
audit; the PPI interval (:func:`service.ppi.ppi_share`) and the card's confusion-matrix interval
(:class:`service.trends.ErrorModel`) are checked against the month's true share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from service.ppi import ScoreSums, ppi_share
from service.trends import ErrorModel
from vocml.card import ModelCard
from vocml.data import LABELS

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Pool:
    labels: np.ndarray  # readers' labels
    domains: np.ndarray
    model: np.ndarray  # the model's labels
    proba: np.ndarray  # (n, 2): P(needs_first), P(pitch_first)


@lru_cache(maxsize=1)
def pool() -> Pool:
    """The real test split with the shipped model's predictions."""
    from vocml import load_model

    with (ROOT / "data" / "real" / "test.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    preds = load_model().classify([r["text"] for r in rows])
    return Pool(
        labels=np.array([r["label"] for r in rows]),
        domains=np.array([r["domain"] for r in rows]),
        model=np.array([p.label for p in preds]),
        proba=np.array([[p.scores["needs_first"], p.scores["pitch_first"]] for p in preds]),
    )


def weekly_stream(
    rng: np.random.Generator,
    *,
    weeks: int = 17,
    per_week: int = 130,
    signal: float = 0.3,
    domains: tuple[str, ...] | None = None,
) -> list[np.ndarray]:
    """Indices into the pool (only ``domains`` when given), one array per week; the needs-first share
    among signal texts moves week by week (a random walk between 15% and 85%)."""
    p = pool()
    keep = np.ones(len(p.labels), dtype=bool) if domains is None else np.isin(p.domains, domains)
    by_label = {lab: np.flatnonzero((p.labels == lab) & keep) for lab in LABELS}
    share = rng.uniform(0.3, 0.7)
    out = []
    for _ in range(weeks):
        share = float(np.clip(share + rng.normal(0, 0.08), 0.15, 0.85))
        n_signal = rng.binomial(per_week, signal)
        n_needs = rng.binomial(n_signal, share)
        out.append(
            np.concatenate(
                [
                    rng.choice(by_label["needs_first"], n_needs),
                    rng.choice(by_label["pitch_first"], n_signal - n_needs),
                    rng.choice(by_label["no_signal"], per_week - n_signal),
                ]
            )
        )
    return out


@dataclass
class Coverage:
    draws: int = 0
    ppi_covered: int = 0
    ppi_width: float = 0.0
    card_covered: int = 0
    card_width: float = 0.0

    def line(self) -> str:
        return (
            f"{self.draws} month estimates: PPI covers the true share {self.ppi_covered / self.draws:.3f} of the time "
            f"(mean width {self.ppi_width / self.draws:.3f}); the card's matrix {self.card_covered / self.draws:.3f} "
            f"(mean width {self.card_width / self.draws:.3f})"
        )


def weakest_domains(card: ModelCard, n: int = 2) -> tuple[str, ...]:
    """The ``n`` domains the card's real-test evaluation scores lowest (macro-F1): where the model is weaker
    than the card's matrix, measured over all domains, says."""
    per_domain = card.evaluations["real/test.jsonl"]["per_domain"]
    return tuple(sorted(per_domain, key=lambda d: per_domain[d]["macro_f1"])[:n])


def coverage(
    error_model: ErrorModel,
    *,
    repeats: int = 200,
    audits: int = 30,
    seed: int = 0,
    signal: float = 0.3,
    domains: tuple[str, ...] | None = None,
) -> Coverage:
    """``repeats`` streams of four 4-week months (2,000+ records each); for each, one month estimate per
    adjustment, checked against that month's true needs-first share."""
    p = pool()
    rng = np.random.default_rng(seed)
    out = Coverage()
    for _ in range(repeats):
        weeks = weekly_stream(rng, weeks=16, per_week=130, signal=signal, domains=domains)
        month = np.concatenate(weeks[12:16])  # the last month
        labels, proba = p.labels[month], p.proba[month]
        signal_mask = labels != "no_signal"
        if not signal_mask.any():
            continue
        truth = float((labels == "needs_first").sum() / signal_mask.sum())
        audit = rng.choice(len(month), audits, replace=False)
        est = ppi_share(
            ScoreSums.of(proba[:, 0], proba[:, 1]),
            (labels[audit] == "needs_first").astype(float),
            signal_mask[audit].astype(float),
            proba[audit, 0],
            proba[audit, 1],
        )
        counts = np.array([(p.model[month] == lab).sum() for lab in LABELS], dtype=float)
        _, low, high = error_model.adjusted_share(counts, np.zeros(len(LABELS)), draws=200)
        if est.share is None or low is None or high is None:
            continue
        out.draws += 1
        out.ppi_covered += est.low <= truth <= est.high  # type: ignore[operator]
        out.ppi_width += est.high - est.low  # type: ignore[operator]
        out.card_covered += low <= truth <= high
        out.card_width += high - low
    return out
