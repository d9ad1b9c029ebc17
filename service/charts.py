"""Server-side SVG line charts for the dashboard: shares over time with 95% bands.

:func:`line_chart` turns series of points into plain geometry (paths, band polygons, markers, ticks);
``templates/_chart.html`` draws it as inline SVG. No JavaScript and no network: the chart works offline,
each marker carries a ``<title>`` (hover text) and may link to the records behind it. Series differ by
dash pattern and marker shape as well as by colour, so colour never carries meaning alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

MARKERS = ("circle", "square", "triangle", "diamond")
N_STYLES = 6


@dataclass(frozen=True)
class ChartPoint:
    """One point: its period start, value and interval (0-1, ``None`` when unknown), hover text and link."""

    start: date
    value: float | None
    low: float | None = None
    high: float | None = None
    title: str = ""
    href: str | None = None


@dataclass(frozen=True)
class Series:
    """A named line; ``band`` draws its interval as a shaded area."""

    name: str
    points: Sequence[ChartPoint]
    band: bool = True
    style: int = 0
    dashed: bool = False


@dataclass
class Chart:
    """Geometry ready for the template (all coordinates in the SVG's user units)."""

    title: str
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    y_ticks: list[dict[str, Any]] = field(default_factory=list)
    x_ticks: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    threshold_y: float | None = None
    empty: bool = False


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def _runs(items: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Split a sequence at ``None`` into runs of consecutive coordinates."""
    runs: list[list[tuple[float, float]]] = [[]]
    for item in items:
        if item is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(item)
    return [r for r in runs if r]


def line_chart(series: Sequence[Series], *, title: str, width: int = 520, height: int = 260) -> Chart:
    """Lay out ``series`` on a shared time axis (x) and a 0-100% axis (y)."""
    left, right, top, bottom = 44, 12, 12, 34
    chart = Chart(
        title=title, width=width, height=height, left=left, top=top, right=width - right, bottom=height - bottom
    )
    starts = sorted({p.start for s in series for p in s.points})
    if not starts:
        chart.empty = True
        return chart
    plot_w = chart.right - left
    plot_h = chart.bottom - top
    first, last = starts[0].toordinal(), starts[-1].toordinal()
    span = max(last - first, 1)

    def x_of(d: date) -> float:
        if first == last:
            return left + plot_w / 2
        return left + (d.toordinal() - first) / span * plot_w

    def y_of(v: float) -> float:
        return chart.bottom - max(0.0, min(1.0, v)) * plot_h

    chart.y_ticks = [{"y": _fmt(y_of(v / 100)), "label": f"{v}%"} for v in (0, 25, 50, 75, 100)]
    chart.threshold_y = y_of(0.5)
    step = max(1, -(-len(starts) // 8))
    ticks = starts[::step]
    chart.x_ticks = [
        {
            "x": _fmt(x_of(d)),
            "label": d.isoformat(),
            "anchor": "middle"
            if len(ticks) == 1
            else "start"
            if i == 0
            else "end"
            if i == len(ticks) - 1
            else "middle",
        }
        for i, d in enumerate(ticks)
    ]
    for s in series:
        pts = sorted(s.points, key=lambda p: p.start)
        line_runs = _runs([(x_of(p.start), y_of(p.value)) if p.value is not None else None for p in pts])
        paths = ["M" + " L".join(f"{_fmt(x)},{_fmt(y)}" for x, y in run) for run in line_runs]
        bands = []
        if s.band:
            band_pts = [p for p in pts if p.low is not None and p.high is not None]
            if band_pts:
                upper = [(x_of(p.start), y_of(p.high or 0.0)) for p in band_pts]
                lower = [(x_of(p.start), y_of(p.low or 0.0)) for p in reversed(band_pts)]
                if len(band_pts) == 1:  # a single period: a short vertical bar
                    (x, yh), (_, yl) = upper[0], lower[0]
                    upper, lower = [(x - 4, yh), (x + 4, yh)], [(x + 4, yl), (x - 4, yl)]
                bands.append("M" + " L".join(f"{_fmt(x)},{_fmt(y)}" for x, y in upper + lower) + " Z")
        markers = [
            {"x": _fmt(x_of(p.start)), "y": _fmt(y_of(p.value)), "title": p.title, "href": p.href}
            for p in pts
            if p.value is not None
        ]
        chart.series.append(
            {
                "name": s.name,
                "style": s.style % N_STYLES,
                "marker": MARKERS[s.style % len(MARKERS)],
                "dashed": s.dashed,
                "paths": paths,
                "bands": bands,
                "markers": markers,
            }
        )
    return chart
