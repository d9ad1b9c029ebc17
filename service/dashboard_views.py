"""What the dashboard pages show, built only from the functions the API uses.

The overview and the team views read ``label_counts`` through :func:`service.trends.read_counts` and
:func:`service.trends.trend_points` (the same code as ``/v1/trends``); records come from
:mod:`service.store` (as ``/v1/records``) and scorecards from :mod:`service.scorecards`. This module
only reshapes those results for the templates: rows of the overview, chart series, highlighted text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service import drivers, trends
from service.auth import Principal
from service.charts import ChartPoint, Series, sparkline
from service.db import audit_samples, label_counts
from service.ppi import ppi_share_strata
from service.schemas import FIRST_DAY, LAST_DAY
from service.scorecards import MeasuredPoint, current_per_period, disagreement, measured_at
from service.trends import period_end
from vocml.errors import ConfigError

PERIODS = ("week", "month")
SORTS = ("team", "records", "share", "change", "movers", "gap")
SOURCE_NAMES = {"call_note": "call notes", "customer_comment": "customers' comments"}


@dataclass(frozen=True)
class View:
    """The period and date range chosen once for the whole page (they live in the URL)."""

    period: str = "month"
    start: date | None = None
    end: date | None = None
    auto: bool = False  # the period was not chosen: weeks for ranges under three months (see auto_period)

    def query(self, **extra: Any) -> dict[str, str]:
        """Query parameters that reproduce this view, plus ``extra`` (``None`` values dropped)."""
        params: dict[str, Any] = {"period": self.period, "start": self.start, "end": self.end, **extra}
        if self.auto and "period" not in extra:
            params["period"] = None  # links keep choosing the period by the range
        return {k: str(v) for k, v in params.items() if v is not None and v != ""}


def parse_view(period: str | None, start: str | None, end: str | None) -> View:
    """Validate the page's period and range; :class:`ConfigError` says what to fix. Without a period,
    ``month`` with ``auto`` set (:func:`resolve_view` picks weeks for short ranges)."""
    auto = not period
    period = period or "month"
    if period not in PERIODS:
        raise ConfigError(f"period must be 'week' or 'month', got {period!r}")
    parsed: list[date | None] = []
    for name, raw in (("start", start), ("end", end)):
        if raw:
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                day = None
            if day is None or not FIRST_DAY <= day <= LAST_DAY:
                raise ConfigError(
                    f"{name} must be a date like 2026-03-31 between {FIRST_DAY} and {LAST_DAY}, got {raw!r}"
                )
            parsed.append(day)
        else:
            parsed.append(None)
    first, last = parsed
    if first is not None and last is not None and first > last:
        raise ConfigError("the start date is after the end date; swap them")
    return View(period=period, start=first, end=last, auto=auto)


SHORT_RANGE_DAYS = 92  # under about three months, the period is the week


def auto_period(conn: Connection, teams: Sequence[str] | None, start: date | None, end: date | None) -> str:
    """``week`` when the range (the days with records, within ``start``-``end``) is under three months."""
    c = label_counts.c
    stmt = sa.select(sa.func.min(c.day), sa.func.max(c.day)).where(c.n != 0)
    if teams is not None:
        stmt = stmt.where(c.team.in_(list(teams)))
    first, last = conn.execute(stmt).one()
    if first is None:
        return "week" if start and end and (end - start).days < SHORT_RANGE_DAYS else "month"
    first = first if isinstance(first, date) else date.fromisoformat(str(first))
    last = last if isinstance(last, date) else date.fromisoformat(str(last))
    lo, hi = max(start or first, first), min(end or last, last)
    return "week" if (hi - lo).days < SHORT_RANGE_DAYS else "month"


def resolve_view(conn: Connection, principal: Principal, view: View) -> View:
    """The view with its period chosen from the data when the user did not choose one."""
    if not view.auto:
        return view
    teams = None if principal.teams is None else sorted(principal.teams)
    return View(period=auto_period(conn, teams, view.start, view.end), start=view.start, end=view.end, auto=True)


def visible_teams(conn: Connection, principal: Principal) -> list[str]:
    """Teams with records that the principal may see, sorted."""
    stmt = sa.select(label_counts.c.team).distinct().order_by(label_counts.c.team)
    if principal.teams is not None:
        stmt = stmt.where(label_counts.c.team.in_(sorted(principal.teams)))
    return [str(t) for t in conn.execute(stmt).scalars()]


def _arrow(change: float | None) -> tuple[str, str]:
    if change is None:
        return "", "no previous period"
    if change > 0.005:
        return "\u25b2", "up"
    if change < -0.005:
        return "\u25bc", "down"
    return "\u25b6", "flat"


def team_totals(
    conn: Connection, teams: Sequence[str] | None, start: date | None, end: date | None
) -> dict[str, tuple[int, date]]:
    """Records and last day with records per team in range, aggregated in the database (``label_counts``)."""
    c = label_counts.c
    stmt = sa.select(c.team, sa.func.sum(c.n), sa.func.max(c.day)).where(c.n != 0).group_by(c.team)
    if teams is not None:
        stmt = stmt.where(c.team.in_(list(teams)))
    if start is not None:
        stmt = stmt.where(c.day >= start)
    if end is not None:
        stmt = stmt.where(c.day <= end)
    out = {}
    for team, n, last in conn.execute(stmt):
        if int(n or 0) > 0:
            out[str(team)] = (int(n), last if isinstance(last, date) else date.fromisoformat(str(last)))
    return out


def _change(now: dict[str, Any] | None, before: dict[str, Any] | None) -> dict[str, Any]:
    """Change of the needs-first share between two points, its p-value and how to say it."""
    out: dict[str, Any] = {"change": None, "p_value": None, "significant": False}
    if now and before and now["needs_first_share"] is not None and before["needs_first_share"] is not None:
        out["change"] = now["needs_first_share"] - before["needs_first_share"]
        k_now = now["counts"]["needs_first"] + now["counts"]["pitch_first"]
        k_before = before["counts"]["needs_first"] + before["counts"]["pitch_first"]
        out["p_value"] = trends.two_proportion_p(
            now["counts"]["needs_first"], k_now, before["counts"]["needs_first"], k_before
        )
        out["significant"] = out["p_value"] is not None and out["p_value"] < 0.05
    out["arrow"], out["direction"] = _arrow(out["change"])
    return out


def headline(points: Sequence[dict[str, Any]], period: str, n_teams: int) -> dict[str, Any] | None:
    """The Monday answer for the visible teams together: latest share, change, and whether it is real."""
    if not points:
        return None
    now = points[-1]
    previous = trends.previous_period(now["start"], period)
    before = next((p for p in points if p["start"] == previous), None)
    change = _change(now, before)
    share = now["needs_first_share"]
    signal = now["counts"]["needs_first"] + now["counts"]["pitch_first"]
    when = f"the {period} of {now['start']:%b %-d, %Y}" if period == "week" else f"{now['start']:%B %Y}"
    teams = "your team" if n_teams == 1 else f"your {n_teams} teams"
    if share is None:
        sentence = f"No text showed a selling approach in {when} across {teams} ({now['n']} records)."
    else:
        sentence = (
            f"Across {teams}, {pct(share)} of the texts that show a selling approach were needs-first in {when} "
            f"({now['counts']['needs_first']} of {signal}; "
            f"95% interval {pct(now['ci_low'])}\u2013{pct(now['ci_high'])})."
        )
    if change["change"] is None or before is None:
        verdict = f"No earlier {period} to compare with."
    else:
        pts = change["change"] * 100
        move = f"{'up' if pts > 0 else 'down'} {abs(pts):.0f} points" if abs(pts) >= 0.5 else "unchanged"
        was = f"That is {move} from {pct(before['needs_first_share'])} the {period} before"
        if change["significant"]:
            verdict = f"{was}: a real change (p={change['p_value']:.3f})."
        else:
            verdict = f"{was}, within what chance alone moves (p={change['p_value']:.2f}): no clear change."
    return {"point": now, "sentence": sentence, "verdict": verdict, **change}


def overview(
    conn: Connection, principal: Principal, view: View, *, sort: str = "team", desc: bool = False
) -> dict[str, Any]:
    """The overview: a headline for the visible teams together, one row per team with records in range
    (a sparkline of its share over the range, latest share and interval, change and whether it is
    significant, say-do gap), and what drove the share in the latest period.

    Totals come from one aggregate query and the points from the ``label_counts`` rows of the range,
    through :func:`service.trends.trend_points` (the code of ``/v1/trends``).
    """
    teams = None if principal.teams is None else sorted(principal.teams)
    totals = team_totals(conn, teams, view.start, view.end)
    if not totals:
        return {"rows": [], "headline": None, "drivers": [], "latest": None}
    names = sorted(totals)
    latest_of = {t: trends.period_start(last, view.period) for t, (_, last) in totals.items()}
    previous_of = {t: trends.previous_period(p, view.period) for t, p in latest_of.items()}
    latest_all = max(latest_of.values())
    since = min([*previous_of.values(), trends.previous_period(latest_all, view.period)])
    if view.start is not None:
        since = max(since, view.start)
    # Only the last two periods' daily rows are read (say-do gaps need the sources); the sparklines
    # come from per-period sums computed in the database.
    rows = trends.read_counts(conn, teams=names, start=since, end=view.end)
    by_team: dict[str, list[trends.CountRow]] = defaultdict(list)
    for row in rows:
        if row[2] >= previous_of[row[0]]:
            by_team[row[0]].append(row)
    sums = trends.period_counts(conn, teams=names, period=view.period, start=view.start, end=view.end)
    audited = audited_teams(conn, names, view.period, since)
    audits: dict[str, trends.AuditInputs | None] = {}
    in_latest: set[str] = set()
    out = []
    for team, (records, _last) in totals.items():
        audit = (
            trends.read_audit_inputs(conn, teams=[team], period=view.period, start=since, end=view.end)
            if team in audited
            else None
        )
        found_points = trends.trend_points(by_team[team], period=view.period, error_model=None, audit=audit)
        points = {p["start"]: p for p in found_points}
        audits[team] = audit
        if latest_all in points:
            in_latest.add(team)
        latest = latest_of[team]
        now, before = points.get(latest), points.get(previous_of[team])
        change = _change(now, before)
        spark_points = []
        for start, (nf, pf, _ns) in sorted(sums[team].items()):
            low, high = trends.wilson(nf, nf + pf)
            spark_points.append(ChartPoint(start=start, value=nf / (nf + pf) if nf + pf else None, low=low, high=high))
        out.append(
            {
                "team": team,
                "records": records,
                "latest_period": latest,
                "latest": now,
                "share": now["needs_first_share"] if now else None,
                **change,
                "gap": now["say_do"]["gap"] if now else None,
                "say_do": now["say_do"] if now else None,
                "spark": sparkline(
                    spark_points,
                    label=f"{team}: needs-first share by {view.period}, "
                    + ", ".join(f"{p.start}: {pct(p.value)}" for p in spark_points[-12:]),
                ),
            }
        )
    keys: dict[str, Callable[[dict[str, Any]], Any]] = {
        "team": lambda r: r["team"].lower(),
        "records": lambda r: r["records"],
        "share": lambda r: r["share"],
        "change": lambda r: r["change"],
        "movers": lambda r: None if r["change"] is None else abs(r["change"]),
        "gap": lambda r: r["gap"],
    }
    key = keys.get(sort, keys["team"])
    present = [r for r in out if key(r) is not None]
    missing = [r for r in out if key(r) is None]
    present.sort(key=key, reverse=desc)
    last_two = trends.previous_period(latest_all, view.period)
    together = trends.trend_points([r for r in rows if r[2] >= last_two], period=view.period, error_model=None)
    found = drivers.drivers(conn, names, latest_all, view.period)
    top = headline(together, view.period, len(totals))
    if top is not None:
        top["audited"] = audited_headline(audits, in_latest, latest_all, len(totals))
    return {
        "rows": present + sorted(missing, key=keys["team"]),
        "headline": top,
        "drivers": found,
        "latest": latest_all,
    }


def audited_headline(
    audits: dict[str, trends.AuditInputs | None], in_latest: set[str], latest: date, n_teams: int
) -> str | None:
    """The headline's share estimated from the audits (read for the team cards already), when every team
    with records in the latest period has at least two audit labels there: one stratum per team
    (:func:`service.ppi.ppi_share_strata`)."""
    strata = []
    for team in sorted(in_latest):
        audit = audits.get(team)
        labelled = audit.labels.get(latest, []) if audit is not None else []
        sums = audit.sums.get(latest) if audit is not None else None
        if len(labelled) < 2 or sums is None:
            return None
        strata.append(trends.stratum(sums, labelled))
    if not strata:
        return None
    est = ppi_share_strata(strata)
    if est.share is None:
        return None
    who = "the team's" if n_teams == 1 else f"each of the {len(strata)} teams'"
    return (
        f"Checked against {who} blind audit ({est.n_audit} labels in all): {pct(est.share)} needs-first "
        f"(95% interval {pct(est.low)}\u2013{pct(est.high)}), an estimate that holds however wrong the model is."
    )


def audited_teams(conn: Connection, teams: Sequence[str], period: str, since: date) -> set[str]:
    """Teams with audit labels in periods from ``since`` (their latest share gets the audit's estimate)."""
    c = audit_samples.c
    stmt = (
        sa.select(c.team)
        .distinct()
        .where(c.team.in_(list(teams)), c.period == period, c.label.is_not(None), c.period_start >= since)
    )
    return {str(t) for t in conn.execute(stmt).scalars()}


def pct(value: float | None, digits: int = 0) -> str:
    """A share as a percentage, or an en dash when unknown."""
    return "\u2013" if value is None else f"{value * 100:.{digits}f}%"


def point_title(team: str, p: dict[str, Any], *, what: str = "needs-first") -> str:
    """The hover text of a trend point: share, interval and the counts behind it."""
    c = p["counts"]
    return (
        f"{team}, period from {p['start']}: {pct(p['needs_first_share'])} {what} "
        f"(95% interval {pct(p['ci_low'])}\u2013{pct(p['ci_high'])}); n={p['n']}: needs-first {c['needs_first']}, "
        f"pitch-first {c['pitch_first']}, no signal {c['no_signal']}, reviewed {p['reviewed']}"
    )


@dataclass
class TeamTrend:
    """A team's trend points: all sources, and per source."""

    team: str
    points: list[dict[str, Any]]
    by_source: dict[str, list[dict[str, Any]]]
    adjusted: bool


def team_trend(
    conn: Connection, principal: Principal, team: str, view: View, *, error_model: trends.ErrorModel | None, draws: int
) -> TeamTrend:
    """All-source and per-source points for ``team`` (which the principal must be allowed to see)."""
    principal.require_team(team)
    rows = trends.read_counts(conn, teams=[team], start=view.start, end=view.end)
    audit = trends.read_audit_inputs(conn, teams=[team], period=view.period, start=view.start, end=view.end)
    points = trends.trend_points(rows, period=view.period, error_model=error_model, draws=draws, audit=audit)
    by_source = {}
    for source in SOURCE_NAMES:
        src_rows = [r for r in rows if r[1] == source]
        if src_rows:
            by_source[source] = trends.trend_points(
                src_rows, period=view.period, error_model=None, draws=draws, say_do_rows=rows
            )
    adjusted = error_model is not None or any(p["adjustment"] == "ppi" for p in points)
    return TeamTrend(team=team, points=points, by_source=by_source, adjusted=adjusted)


def share_series(
    name: str,
    team: str,
    points: Sequence[dict[str, Any]],
    *,
    style: int,
    href: Callable[[date], str] | None = None,
    what: str = "needs-first",
) -> Series:
    """A needs-first share line with its 95% band."""
    return Series(
        name=name,
        style=style,
        points=[
            ChartPoint(
                start=p["start"],
                value=p["needs_first_share"],
                low=p["ci_low"],
                high=p["ci_high"],
                title=point_title(team, p, what=what),
                href=href(p["start"]) if href else None,
            )
            for p in points
        ],
    )


def adjusted_series(team: str, points: Sequence[dict[str, Any]], *, style: int) -> Series:
    """The error-adjusted share as a dashed line (its interval is in the table)."""
    return Series(
        name="Error-adjusted share",
        style=style,
        band=False,
        dashed=True,
        points=[
            ChartPoint(
                start=p["start"],
                value=p["adjusted_share"],
                low=p["adjusted_ci_low"],
                high=p["adjusted_ci_high"],
                title=(
                    f"{team}, period from {p['start']}: "
                    + ("from the audit" if p["adjustment"] == "ppi" else "error-adjusted")
                    + f" {pct(p['adjusted_share'])} "
                    f"(95% interval {pct(p['adjusted_ci_low'])}\u2013{pct(p['adjusted_ci_high'])}); n={p['n']}"
                ),
            )
            for p in points
        ],
    )


def scorecard_rows(history: Sequence[dict[str, Any]], trend: TeamTrend, period: str) -> list[dict[str, Any]]:
    """Each period's current scorecard beside the measured share, with the line shown when they disagree."""
    customer = [
        MeasuredPoint(p["start"], p["needs_first_share"], p["counts"]["needs_first"] + p["counts"]["pitch_first"])
        for p in trend.by_source.get("customer_comment", [])
    ]
    everything = [
        MeasuredPoint(p["start"], p["needs_first_share"], p["counts"]["needs_first"] + p["counts"]["pitch_first"])
        for p in trend.points
    ]
    out = []

    def current(points: list[MeasuredPoint], day: date) -> MeasuredPoint | None:
        found = measured_at(points, day)
        if found is not None and period_end(found.start, period) < day:
            return None  # the last period with data ended before the scorecard's period
        return found

    for card in current_per_period(history):
        day = card["period_start"]
        # Customers' own words first; all records when customers said nothing in that period.
        measured, source_label = current(customer, day), SOURCE_NAMES["customer_comment"]
        if measured is None:
            measured, source_label = current(everything, day), "all records"
        out.append(
            {
                "card": card,
                "measured": measured,
                "source_label": source_label,
                "message": disagreement(card, measured, source_label=source_label),
            }
        )
    return out


def highlight(text: str, evidence: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    """Split ``text`` into ``(segment, level)`` pieces using the evidence offsets (overlaps skipped):
    level 0 is plain text, 1-3 an evidence phrase shaded by its weight against the strongest one."""
    spans = sorted(
        (int(e["start"]), int(e["end"]), float(e.get("weight") or 0.0))
        for e in evidence
        if 0 <= int(e["start"]) < int(e["end"]) <= len(text)
    )
    strongest = max((w for _, _, w in spans), default=0.0)
    pieces: list[tuple[str, int]] = []
    pos = 0
    for start, end, weight in spans:
        if start < pos:
            continue
        if start > pos:
            pieces.append((text[pos:start], 0))
        share = weight / strongest if strongest > 0 else 1.0
        pieces.append((text[start:end], 3 if share >= 0.75 else 2 if share >= 0.45 else 1))
        pos = end
    if pos < len(text):
        pieces.append((text[pos:], 0))
    return pieces
