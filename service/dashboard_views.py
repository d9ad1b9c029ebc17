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
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service import trends
from service.auth import Principal
from service.charts import ChartPoint, Series
from service.db import label_counts
from service.schemas import FIRST_DAY, LAST_DAY
from service.scorecards import MeasuredPoint, current_per_period, disagreement, measured_at
from vocml.errors import ConfigError

PERIODS = ("week", "month")
SORTS = ("team", "records", "share", "change", "gap")
SOURCE_NAMES = {"call_note": "call notes", "customer_comment": "customers' comments"}


@dataclass(frozen=True)
class View:
    """The period and date range chosen once for the whole page (they live in the URL)."""

    period: str = "month"
    start: date | None = None
    end: date | None = None

    def query(self, **extra: Any) -> dict[str, str]:
        """Query parameters that reproduce this view, plus ``extra`` (``None`` values dropped)."""
        params: dict[str, Any] = {"period": self.period, "start": self.start, "end": self.end, **extra}
        return {k: str(v) for k, v in params.items() if v is not None and v != ""}


def parse_view(period: str | None, start: str | None, end: str | None) -> View:
    """Validate the page's period and range; :class:`ConfigError` says what to fix."""
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
    return View(period=period, start=first, end=last)


def period_end(start: date, period: str) -> date:
    """The last day of the period that begins at ``start``."""
    if period == "week":
        return start + timedelta(days=6)
    following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


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


def overview(
    conn: Connection, principal: Principal, view: View, *, sort: str = "team", desc: bool = False
) -> list[dict[str, Any]]:
    """One row per visible team with records in range: latest share and interval, change, significance, gap.

    Totals come from one aggregate query; only the last two periods' rows are read (with
    :func:`service.trends.read_counts`) and turned into points by :func:`service.trends.trend_points`.
    """
    teams = None if principal.teams is None else sorted(principal.teams)
    totals = team_totals(conn, teams, view.start, view.end)
    if not totals:
        return []
    latest_of = {t: trends.period_start(last, view.period) for t, (_, last) in totals.items()}
    previous_of = {t: trends.previous_period(p, view.period) for t, p in latest_of.items()}
    since = min(previous_of.values())
    if view.start is not None:
        since = max(since, view.start)
    rows = trends.read_counts(conn, teams=teams, start=since, end=view.end)
    by_team: dict[str, list[trends.CountRow]] = defaultdict(list)
    for row in rows:
        if row[0] in previous_of and row[2] >= previous_of[row[0]]:
            by_team[row[0]].append(row)
    out = []
    for team, (records, _last) in totals.items():
        latest, previous = latest_of[team], previous_of[team]
        points = {p["start"]: p for p in trends.trend_points(by_team[team], period=view.period, error_model=None)}
        now, before = points.get(latest), points.get(previous)
        change = p_value = None
        if now and before and now["needs_first_share"] is not None and before["needs_first_share"] is not None:
            change = now["needs_first_share"] - before["needs_first_share"]
            k_now = now["counts"]["needs_first"] + now["counts"]["pitch_first"]
            k_before = before["counts"]["needs_first"] + before["counts"]["pitch_first"]
            p_value = trends.two_proportion_p(
                now["counts"]["needs_first"], k_now, before["counts"]["needs_first"], k_before
            )
        arrow, direction = _arrow(change)
        out.append(
            {
                "team": team,
                "records": records,
                "latest_period": latest,
                "latest": now,
                "share": now["needs_first_share"] if now else None,
                "change": change,
                "arrow": arrow,
                "direction": direction,
                "p_value": p_value,
                "significant": p_value is not None and p_value < 0.05,
                "gap": now["say_do"]["gap"] if now else None,
                "say_do": now["say_do"] if now else None,
            }
        )
    keys: dict[str, Callable[[dict[str, Any]], Any]] = {
        "team": lambda r: r["team"].lower(),
        "records": lambda r: r["records"],
        "share": lambda r: r["share"],
        "change": lambda r: r["change"],
        "gap": lambda r: r["gap"],
    }
    key = keys.get(sort, keys["team"])
    present = [r for r in out if key(r) is not None]
    missing = [r for r in out if key(r) is None]
    present.sort(key=key, reverse=desc)
    return present + sorted(missing, key=keys["team"])


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
    points = trends.trend_points(rows, period=view.period, error_model=error_model, draws=draws)
    by_source = {}
    for source in SOURCE_NAMES:
        src_rows = [r for r in rows if r[1] == source]
        if src_rows:
            by_source[source] = trends.trend_points(
                src_rows, period=view.period, error_model=None, draws=draws, say_do_rows=rows
            )
    return TeamTrend(team=team, points=points, by_source=by_source, adjusted=error_model is not None)


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
                    f"{team}, period from {p['start']}: error-adjusted {pct(p['adjusted_share'])} "
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


def highlight(text: str, evidence: Sequence[dict[str, Any]]) -> list[tuple[str, bool]]:
    """Split ``text`` into ``(segment, is_evidence)`` pieces using the evidence offsets (overlaps skipped)."""
    spans = sorted(
        (int(e["start"]), int(e["end"])) for e in evidence if 0 <= int(e["start"]) < int(e["end"]) <= len(text)
    )
    pieces: list[tuple[str, bool]] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            continue
        if start > pos:
            pieces.append((text[pos:start], False))
        pieces.append((text[start:end], True))
        pos = end
    if pos < len(text):
        pieces.append((text[pos:], False))
    return pieces
