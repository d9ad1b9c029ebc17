"""Per-team trends from ``label_counts``: shares with Wilson intervals, shares adjusted for the model's
own errors (confusion-matrix inversion with a parametric bootstrap interval), the say-do gap, and
period-over-period changes with a two-proportion test.

All statistics are on the needs-first share ``nf / (nf + pf)``; ``no_signal`` texts count in ``n`` only.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.auth import Principal
from service.db import SCORE_SUM_COLUMNS, label_counts, score_sums
from service.ppi import ScoreSums, ShareEstimate, Stratum, mover_difference, ppi_share
from vocml.data import LABELS

Z95 = 1.959963984540054
NF, PF = "needs_first", "pitch_first"


def period_start(day: date, period: str) -> date:
    """The Monday of ``day``'s ISO week, or the first of its month."""
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_end(start: date, period: str) -> date:
    """The last day of the period that begins at ``start``."""
    if period == "week":
        return start + timedelta(days=6)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def previous_period(start: date, period: str) -> date:
    """The start of the period before the one starting at ``start``."""
    if period == "week":
        return start - timedelta(days=7)
    return (start - timedelta(days=1)).replace(day=1)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for a proportion; ``(None, None)`` when ``n == 0``."""
    if n <= 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; ``None`` if either sample is empty."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x2 / n2) / se
    return math.erfc(abs(z) / math.sqrt(2))


def say_do_gap(nf_call: int, n_call: int, nf_cust: int, n_cust: int) -> dict[str, float | None]:
    """Needs-first share in call notes minus in customer comments, with Newcombe's 95% interval.

    Newcombe's hybrid score interval combines the two Wilson intervals; unlike the normal
    approximation it does not collapse to zero width when a share is 0% or 100%.
    """
    call = nf_call / n_call if n_call else None
    cust = nf_cust / n_cust if n_cust else None
    out: dict[str, float | None] = {
        "call_note_share": call,
        "customer_comment_share": cust,
        "gap": None,
        "ci_low": None,
        "ci_high": None,
    }
    if call is None or cust is None:
        return out
    (l1, u1), (l2, u2) = wilson(nf_call, n_call), wilson(nf_cust, n_cust)  # both n > 0: never None
    gap, low, high = mover_difference((call, l1 or 0.0, u1 or 0.0), (cust, l2 or 0.0, u2 or 0.0))
    out.update(gap=gap, ci_low=low, ci_high=high)
    return out
    gap = call - cust
    (l1, u1), (l2, u2) = wilson(nf_call, n_call), wilson(nf_cust, n_cust)  # both n > 0: never None
    low = gap - math.sqrt((call - (l1 or 0.0)) ** 2 + ((u2 or 0.0) - cust) ** 2)
    high = gap + math.sqrt(((u1 or 0.0) - call) ** 2 + (cust - (l2 or 0.0)) ** 2)
    out.update(gap=gap, ci_low=max(-1.0, low), ci_high=min(1.0, high))
    return out


HELD_OUT_SET = "real/test.jsonl"  # the card's evaluation whose confusion matrix the adjusted trends invert


@dataclass(frozen=True)
class ErrorModel:
    """The model's confusion matrix on held-out real text as ``P(predicted | true)``, rows and columns in
    ``LABELS`` order.

    Attributes:
        counts: the confusion counts (rows true, columns predicted).
        rates: each row normalised to sum to 1.
    """

    counts: np.ndarray
    rates: np.ndarray

    @classmethod
    def from_card(cls, card: Any) -> ErrorModel | None:
        """The error model of a model card: the confusion matrix of its locked real test set
        (``evaluations["real/test.jsonl"]``), else of its ``metrics`` (older cards: cross-validation)."""
        if card is None:
            return None
        held_out = (getattr(card, "evaluations", None) or {}).get(HELD_OUT_SET)
        return cls.from_card_metrics(held_out if held_out and held_out.get("confusion") else card.metrics)

    @classmethod
    def from_card_metrics(cls, metrics: dict[str, Any] | None) -> ErrorModel | None:
        """Build from ``card.metrics["confusion"]``; ``None`` if absent, incomplete or not invertible."""
        confusion = (metrics or {}).get("confusion")
        if not confusion:
            return None
        labels = list(confusion.get("labels", []))
        matrix = np.asarray(confusion.get("matrix", []), dtype=np.float64)
        if sorted(labels) != sorted(LABELS) or matrix.shape != (len(labels), len(labels)):
            return None
        order = [labels.index(lab) for lab in LABELS]
        counts = matrix[np.ix_(order, order)]
        totals = counts.sum(axis=1, keepdims=True)
        if np.any(totals == 0):
            return None
        rates = counts / totals
        if abs(np.linalg.det(rates)) < 1e-9:
            return None
        return cls(counts=counts, rates=rates)

    def true_proportions(self, observed: np.ndarray) -> np.ndarray:
        """Solve ``observed = rates.T @ p`` for the true label proportions ``p``; clip to [0, 1], renormalise."""
        p = np.linalg.solve(self.rates.T, observed)
        return _clip_normalise(p)

    def adjusted_share(
        self, model_counts: np.ndarray, reviewed_counts: np.ndarray, *, draws: int = 200, seed: int = 0
    ) -> tuple[float | None, float | None, float | None]:
        """Adjusted needs-first share and its 95% interval.

        Model-labelled counts are corrected with the confusion matrix; reviewed counts are true labels and
        are added as they are. The interval comes from a parametric bootstrap (fixed seed): the observed
        label proportions are drawn from their Dirichlet posterior (Jeffreys prior, so a 0% or 100% share
        still gets an interval), and each confusion row from its Dirichlet posterior. With every record
        reviewed there is no model error to correct, and the interval is the Wilson interval.
        """
        nf, pf = LABELS.index(NF), LABELS.index(PF)
        m_total = float(model_counts.sum())
        if m_total + float(reviewed_counts.sum()) <= 0:
            return None, None, None
        point = _share(self._true_counts(model_counts, m_total), reviewed_counts, nf, pf)
        if point is None:
            return None, None, None
        if m_total == 0:
            low, high = wilson(int(reviewed_counts[nf]), int(reviewed_counts[nf] + reviewed_counts[pf]))
            return point, low, high
        rng = np.random.default_rng(seed)
        observed = rng.dirichlet(model_counts + 0.5, size=draws)  # (draws, 3)
        p = np.einsum("dij,dj->di", self._inverse_draws(draws), observed)
        p = np.clip(p, 0.0, 1.0)
        p = p / np.where(p.sum(axis=1, keepdims=True) > 0, p.sum(axis=1, keepdims=True), 1.0)
        true = p * m_total + reviewed_counts
        denom = true[:, nf] + true[:, pf]
        shares = np.divide(true[:, nf], denom, out=np.full(draws, np.nan), where=denom > 0)
        shares = shares[~np.isnan(shares)]
        if shares.size == 0:
            return point, None, None
        low, high = np.percentile(shares, [2.5, 97.5])
        return point, float(low), float(high)

    def _inverse_draws(self, draws: int) -> np.ndarray:
        """``draws`` inverses of confusion matrices drawn from each row's Dirichlet posterior (fixed seed).

        They do not depend on a period's counts, so every point of every trend shares one set: computed
        once per model and number of draws (the batched pseudo-inverse is most of the bootstrap's cost).
        """
        cache: dict[int, np.ndarray] = self.__dict__.setdefault("_inverse_cache", {})
        inverse = cache.get(draws)
        if inverse is None:
            rng = np.random.default_rng(1)
            rates = np.stack([rng.dirichlet(row + 1.0, size=draws) for row in self.counts], axis=1)  # (draws, 3, 3)
            inverse = cache[draws] = np.linalg.pinv(np.transpose(rates, (0, 2, 1)))
        return inverse

    def _true_counts(self, model_counts: np.ndarray, m_total: float) -> np.ndarray:
        if m_total == 0:
            return np.zeros(len(LABELS))
        return self.true_proportions(model_counts / m_total) * m_total


def _clip_normalise(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 0.0, 1.0)
    total = p.sum()
    return p / total if total > 0 else p


def _share(true_model: np.ndarray, reviewed: np.ndarray, nf: int, pf: int) -> float | None:
    total = true_model + reviewed
    denom = total[nf] + total[pf]
    return float(total[nf] / denom) if denom > 0 else None


# --- reading label_counts ----------------------------------------------------------------------

CountRow = tuple[str, str, date, str, str, int]  # team, source, day, label, kind, n


def read_counts(
    conn: Connection,
    *,
    teams: Sequence[str] | None,
    source: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[CountRow]:
    """Rows of ``label_counts`` for the given teams (``None``: all), optionally one source and a day range."""
    c = label_counts.c
    stmt = sa.select(c.team, c.source, c.day, c.label, c.kind, c.n).where(c.n != 0)
    if teams is not None:
        stmt = stmt.where(c.team.in_(list(teams)))
    if source is not None:
        stmt = stmt.where(c.source == source)
    if start is not None:
        stmt = stmt.where(c.day >= start)
    if end is not None:
        stmt = stmt.where(c.day <= end)
    return [(r.team, r.source, r.day, r.label, r.kind, int(r.n)) for r in conn.execute(stmt)]


def period_start_sql(column: Any, period: str, dialect: str) -> Any:
    """SQL for :func:`period_start` of a date column: the Monday of its ISO week, or the first of its month."""
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc("week" if period == "week" else "month", column), sa.Date)
    if period == "week":  # SQLite: forward to Sunday (the same day if it is one), back six days
        return sa.func.date(column, "weekday 0", "-6 days")
    return sa.func.date(column, "start of month")


def period_counts(
    conn: Connection, *, teams: Sequence[str], period: str, start: date | None = None, end: date | None = None
) -> dict[str, dict[date, list[int]]]:
    """Records per team and period by label (``LABELS`` order), summed in the database: what a sparkline
    needs over a long range, without reading every day's row."""
    c = label_counts.c
    bucket = period_start_sql(c.day, period, conn.dialect.name).label("bucket")
    stmt = (
        sa.select(c.team, bucket, c.label, sa.func.sum(c.n))
        .where(c.team.in_(list(teams)), c.n != 0)
        .group_by(c.team, bucket, c.label)
    )
    index = {lab: i for i, lab in enumerate(LABELS)}
    out: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for team, day, label, n in conn.execute(_in_range(stmt, c.day, start, end)):
        out[str(team)][as_date(day)][index[label]] += int(n or 0)
    return out


def _in_range(stmt: Any, day: Any, start: date | None, end: date | None) -> Any:
    if start is not None:
        stmt = stmt.where(day >= start)
    if end is not None:
        stmt = stmt.where(day <= end)
    return stmt


def as_date(value: Any) -> date:
    """A period start as the database returns it (a date, or ISO text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def period_score_sums(
    conn: Connection,
    *,
    teams: Sequence[str],
    period: str,
    source: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict[date, ScoreSums]:
    """The model's probability sums over every record of each period (``score_sums``, summed in the database)."""
    c = score_sums.c
    bucket = period_start_sql(c.day, period, conn.dialect.name).label("bucket")
    stmt = sa.select(bucket, *(sa.func.sum(getattr(c, k)) for k in SCORE_SUM_COLUMNS)).where(c.team.in_(list(teams)))
    if source is not None:
        stmt = stmt.where(c.source == source)
    out = {}
    for day, n, needs, pitch, nn, np_, pp in conn.execute(_in_range(stmt, c.day, start, end).group_by(bucket)):
        out[as_date(day)] = ScoreSums(
            int(n or 0), float(needs or 0), float(pitch or 0), float(nn or 0), float(np_ or 0), float(pp or 0)
        )
    return out


@dataclass(frozen=True)
class AuditInputs:
    """What prediction-powered points need per period start: the model's sums over all records and the
    labelled audit records ``(label, P(needs_first), P(pitch_first))``."""

    sums: dict[date, ScoreSums]
    labels: dict[date, list[tuple[str, float, float]]]
    # per (period start, source): the sums over that source's records and its part of the audit
    source_sums: dict[tuple[date, str], ScoreSums] = field(default_factory=dict)
    source_labels: dict[tuple[date, str], list[tuple[str, float, float]]] = field(default_factory=dict)


def read_audit_inputs(
    conn: Connection,
    *,
    teams: Sequence[str],
    period: str,
    source: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> AuditInputs | None:
    """The audit inputs of ``teams`` in range, or ``None`` when no audit record is labelled there."""
    from service.audit import audit_labels

    if source is not None:  # the audit is a sample of all sources; per source there is none
        return None
    labelled = audit_labels(conn, teams, period, start, end)
    if not labelled:
        return None
    labels: dict[date, list[tuple[str, float, float]]] = defaultdict(list)
    source_labels: dict[tuple[date, str], list[tuple[str, float, float]]] = defaultdict(list)
    for day, items in labelled.items():
        for label, needs, pitch, src in items:
            labels[day].append((label, needs, pitch))
            if src:
                source_labels[(day, src)].append((label, needs, pitch))
    source_sums = {
        (day, src): sums
        for src in ("call_note", "customer_comment")
        for day, sums in period_score_sums(conn, teams=teams, period=period, source=src, start=start, end=end).items()
    }
    return AuditInputs(
        period_score_sums(conn, teams=teams, period=period, start=start, end=end),
        dict(labels),
        source_sums,
        dict(source_labels),
    )


def stratum(sums: ScoreSums, labelled: Sequence[tuple[str, float, float]]) -> Stratum:
    """An audited period (or part of one) in the form the PPI estimators take."""
    return Stratum(
        sums,
        np.array([lab == NF for lab, _, _ in labelled], dtype=float),
        np.array([lab in (NF, PF) for lab, _, _ in labelled], dtype=float),
        np.array([pn for _, pn, _ in labelled]),
        np.array([pp for _, _, pp in labelled]),
    )


def audited_estimate(sums: ScoreSums, labelled: Sequence[tuple[str, float, float]]) -> ShareEstimate:
    """The prediction-powered share of one audited period (or part of one)."""
    st = stratum(sums, labelled)
    return ppi_share(st.sums, st.labels_needs, st.labels_signal, st.audit_needs, st.audit_pitch)


def audited_say_do(audit: AuditInputs, start: date) -> dict[str, Any] | None:
    """The say-do gap from each source's own part of the audit (each at least two labels), or ``None``."""
    shares: list[tuple[float, float, float]] = []
    for src in ("call_note", "customer_comment"):
        labelled = audit.source_labels.get((start, src), [])
        sums = audit.source_sums.get((start, src))
        if len(labelled) < 2 or sums is None:
            return None
        est = audited_estimate(sums, labelled)
        if est.share is None or est.low is None or est.high is None:
            return None
        shares.append((est.share, est.low, est.high))
    gap, low, high = mover_difference(shares[0], shares[1])
    return {"adjusted_gap": gap, "adjusted_ci_low": low, "adjusted_ci_high": high, "adjustment": "ppi"}


def trend_points(
    rows: Iterable[CountRow],
    *,
    period: str,
    error_model: ErrorModel | None,
    draws: int = 200,
    say_do_rows: Iterable[CountRow] | None = None,
    audit: AuditInputs | None = None,
) -> list[dict[str, Any]]:
    """One point per period with data, oldest first (see ``TrendPointOut``).

    ``say_do_rows`` (all sources, same team and range) feed the say-do gap when ``rows`` is limited
    to one source; by default ``rows`` is used. The adjusted share of a period with labelled audit
    records is prediction-powered (``adjustment: "ppi"``, :func:`service.ppi.ppi_share`); without, it
    inverts the card's confusion matrix (``"card"``) when there is an ``error_model``, else ``"none"``.
    """
    index = {lab: i for i, lab in enumerate(LABELS)}
    model: dict[date, np.ndarray] = defaultdict(lambda: np.zeros(len(LABELS)))
    reviewed: dict[date, np.ndarray] = defaultdict(lambda: np.zeros(len(LABELS)))
    rows = list(rows)
    for _team, _source, day, label, kind, n in rows:
        key = period_start(day, period)
        (reviewed if kind == "review" else model)[key][index[label]] += n
    by_source: dict[tuple[date, str], np.ndarray] = defaultdict(lambda: np.zeros(len(LABELS)))
    for _team, source, day, label, _kind, n in rows if say_do_rows is None else say_do_rows:
        by_source[(period_start(day, period), source)][index[label]] += n
    nf, pf = index[NF], index[PF]
    points = []
    for start in sorted(set(model) | set(reviewed)):
        m, r = model[start], reviewed[start]
        total = m + r
        x, k = int(total[nf]), int(total[nf] + total[pf])
        low, high = wilson(x, k)
        labelled = audit.labels.get(start, []) if audit is not None else []
        adjustment = "none"
        adj = adj_low = adj_high = None
        if len(labelled) >= 2 and audit is not None and start in audit.sums:
            est = audited_estimate(audit.sums[start], labelled)
            adj, adj_low, adj_high, adjustment = est.share, est.low, est.high, "ppi"
        elif error_model is not None:
            adj, adj_low, adj_high = error_model.adjusted_share(m, r, draws=draws, seed=0)
            adjustment = "card"
        call = by_source[(start, "call_note")]
        cust = by_source[(start, "customer_comment")]
        points.append(
            {
                "start": start,
                "n": int(total.sum()),
                "counts": {lab: int(total[i]) for lab, i in index.items()},
                "reviewed": int(r.sum()),
                "needs_first_share": x / k if k else None,
                "ci_low": low,
                "ci_high": high,
                "adjusted_share": adj,
                "adjusted_ci_low": adj_low,
                "adjusted_ci_high": adj_high,
                "adjustment": adjustment,
                "audit_n": len(labelled),
                "say_do": {
                    **say_do_gap(int(call[nf]), int(call[nf] + call[pf]), int(cust[nf]), int(cust[nf] + cust[pf])),
                    **((audit is not None and audited_say_do(audit, start)) or {"adjustment": "none"}),
                },
            }
        )
    return points


def team_summaries(conn: Connection, principal: Principal, *, period: str) -> list[dict[str, Any]]:
    """Every team visible to ``principal``: record count, latest-period share and its change."""
    c = label_counts.c
    stmt = sa.select(c.team, c.day, c.label, sa.func.sum(c.n).label("n")).group_by(c.team, c.day, c.label)
    if principal.teams is not None:
        stmt = stmt.where(c.team.in_(sorted(principal.teams)))
    per_team: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    records_per_team: dict[str, int] = defaultdict(int)
    for team, day, label, n in conn.execute(stmt):
        n = int(n)
        records_per_team[team] += n
        bucket = per_team[team][period_start(day, period)]
        if label == NF:
            bucket[0] += n
        elif label == PF:
            bucket[1] += n
        bucket[2] += n
    out = []
    for team in sorted(records_per_team):
        if records_per_team[team] <= 0:
            continue
        periods = {k: v for k, v in per_team[team].items() if v[2] > 0}
        latest = max(periods) if periods else None
        latest_share = previous_share = change = p_value = None
        if latest is not None:
            nf_now, pf_now, _ = periods[latest]
            nf_before, pf_before, _ = periods.get(previous_period(latest, period), [0, 0, 0])
            latest_share = nf_now / (nf_now + pf_now) if nf_now + pf_now else None
            previous_share = nf_before / (nf_before + pf_before) if nf_before + pf_before else None
            if latest_share is not None and previous_share is not None:
                change = latest_share - previous_share
                p_value = two_proportion_p(nf_now, nf_now + pf_now, nf_before, nf_before + pf_before)
        out.append(
            {
                "team": team,
                "records": records_per_team[team],
                "latest_period": latest,
                "latest_share": latest_share,
                "previous_share": previous_share,
                "change": change,
                "p_value": p_value,
                "significant": p_value is not None and p_value < 0.05,
            }
        )
    return out
