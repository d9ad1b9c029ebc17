"""Server-side SVG line charts for the dashboard: shares over time with 95% bands.

:func:`line_chart` turns series of points into plain geometry (paths, band polygons, markers, ticks);
``templates/_chart.html`` draws it as inline SVG. No JavaScript and no network: the chart works offline,
each marker carries a ``<title>`` (hover text) and may link to the records behind it. Series differ by
dash pattern and marker shape as well as by colour, so colour never carries meaning alone.
"""

from __future__ import annotations

import math
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
    narrow: Chart | None = None  # the same chart laid out for a phone


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


FONT_PX = 12  # axis text, in the chart's own units: each layout is drawn at about its display size
CHAR_W = 0.62 * FONT_PX  # a generous average glyph width, for spacing the tick labels
WIDE = (960, 300)  # the layout for screens wider than 600 px
NARROW = (340, 230)  # the layout for phones


def tick_label(d: date, period: str) -> str:
    """``Mar 2026`` for months, ``Mar 2`` for weeks (the hover text and tables carry the full date)."""
    if period == "month":
        return d.strftime("%b %Y")
    return f"{d.strftime('%b')} {d.day}"


def _layout(series: Sequence[Series], title: str, width: int, height: int, period: str) -> Chart:
    left, right, top, bottom = 44, 14, 12, 34
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
    # Every step-th period gets a label, spaced so that no two labels can touch (centred labels, held
    # inside the plot at the edges, need one label and a gap between their centres).
    labels = [tick_label(d, period) for d in starts]
    label_w = max(len(t) for t in labels) * CHAR_W
    per_period = plot_w / max(len(starts) - 1, 1)
    step = max(1, math.ceil((label_w + 2 * CHAR_W) / per_period)) if len(starts) > 1 else 1
    chosen = list(range(0, len(starts), step))
    ticks: list[dict[str, Any]] = []
    for i in chosen:
        x = x_of(starts[i])
        x = min(max(x, left + label_w / 2), chart.right - label_w / 2)  # never past the plot's ends
        # held at the ends, a label can come closer to its neighbour than one label: leave it out
        if ticks and x - float(ticks[-1]["x"]) < label_w + 2 * CHAR_W - 0.01:
            continue
        ticks.append({"x": _fmt(x), "label": labels[i], "full": starts[i].isoformat(), "anchor": "middle"})
    chart.x_ticks = ticks
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


def line_chart(series: Sequence[Series], *, title: str, period: str = "month", size: tuple[int, int] = WIDE) -> Chart:
    """Lay out ``series`` on a shared time axis (x) and a 0-100% axis (y), at ``size`` and, for phones,
    at :data:`NARROW` (``chart.narrow``): each drawn near its display size, so its text stays 11 px or more."""
    chart = _layout(series, title, size[0], size[1], period)
    chart.narrow = _layout(series, title, NARROW[0], NARROW[1], period)
    return chart


@dataclass
class Sparkline:
    """A small share-over-time picture: the line, its 95% band and the last point (SVG user units)."""

    width: int
    height: int
    line: str = ""
    band: str = ""
    last: dict[str, str] | None = None
    label: str = ""  # what a screen reader hears instead of the picture


def sparkline(points: Sequence[ChartPoint], *, width: int = 160, height: int = 40, label: str = "") -> Sparkline:
    """Lay out points (oldest first, values 0-1) across ``width`` with 3 units of padding."""
    spark = Sparkline(width=width, height=height, label=label)
    known = [p for p in sorted(points, key=lambda p: p.start) if p.value is not None]
    if not known:
        return spark
    pad = 3.0
    first, last = known[0].start.toordinal(), known[-1].start.toordinal()
    span = max(last - first, 1)

    def x_of(d: date) -> float:
        if first == last:
            return width / 2
        return pad + (d.toordinal() - first) / span * (width - 2 * pad)

    def y_of(v: float) -> float:
        return height - pad - max(0.0, min(1.0, v)) * (height - 2 * pad)

    spark.line = "M" + " L".join(f"{_fmt(x_of(p.start))},{_fmt(y_of(p.value or 0.0))}" for p in known)
    banded = [p for p in known if p.low is not None and p.high is not None]
    if len(banded) >= 2:
        upper = [f"{_fmt(x_of(p.start))},{_fmt(y_of(p.high or 0.0))}" for p in banded]
        lower = [f"{_fmt(x_of(p.start))},{_fmt(y_of(p.low or 0.0))}" for p in reversed(banded)]
        spark.band = "M" + " L".join(upper + lower) + " Z"
    end = known[-1]
    spark.last = {"x": _fmt(x_of(end.start)), "y": _fmt(y_of(end.value or 0.0))}
    return spark


LABEL_WORDS = {"pitch_first": "pitch-first", "needs_first": "needs-first", "no_signal": "no signal"}


def reliability_diagram(bins: Sequence[dict[str, Any]], *, size: int = 300) -> dict[str, Any]:
    """Stated confidence (x) against how often the model was right (y), one dot per confidence bin with
    texts (area by count), and the diagonal a calibrated model sits on."""
    left, top, right, bottom = 44, 10, size - 22, size - 40
    w, h = right - left, bottom - top
    filled = [b for b in bins if b.get("n")]
    most = max((int(b["n"]) for b in filled), default=1)
    dots = [
        {
            "x": _fmt(left + float(b["confidence"]) * w),
            "y": _fmt(bottom - float(b["accuracy"]) * h),
            "r": _fmt(3 + 9 * math.sqrt(int(b["n"]) / most)),
            "title": (
                f"Confidence {b['low'] * 100:.0f}-{b['high'] * 100:.0f}%: {b['n']} texts, stated "
                f"{b['confidence'] * 100:.0f}%, right {b['accuracy'] * 100:.0f}%"
            ),
        }
        for b in filled
    ]
    ticks = [{"v": v, "x": _fmt(left + v / 100 * w), "y": _fmt(bottom - v / 100 * h)} for v in (0, 25, 50, 75, 100)]
    return {
        "width": size,
        "height": size,
        "left": left,
        "top": top,
        "right": right,
        "bottom": bottom,
        "dots": dots,
        "ticks": ticks,
        "diagonal": f"M{left},{bottom} L{right},{top}",
        "path": "M" + " L".join(f"{d['x']},{d['y']}" for d in dots) if dots else "",
    }


def confusion_heatmap(confusion: dict[str, Any], *, cell: int = 76) -> dict[str, Any]:
    """The confusion matrix as a grid shaded by each true label's share (rows: true, columns: predicted)."""
    labels = list(confusion.get("labels") or [])
    matrix = [list(map(int, row)) for row in confusion.get("matrix") or []]
    left, top = 110, 46
    cells = []
    for i, row in enumerate(matrix):
        total = sum(row) or 1
        for j, n in enumerate(row):
            share = n / total
            cells.append(
                {
                    "x": left + j * cell,
                    "y": top + i * cell,
                    "n": n,
                    "share": share,
                    "opacity": f"{0.08 + 0.85 * share:.2f}",
                    "dark": share >= 0.5,
                    "correct": i == j,
                    "title": f"{n} of {sum(row)} {LABEL_WORDS.get(labels[i], labels[i])} texts labelled "
                    f"{LABEL_WORDS.get(labels[j], labels[j])} ({share * 100:.0f}%)",
                }
            )
    return {
        "width": left + cell * len(labels) + 10,
        "height": top + cell * len(labels) + 10,
        "left": left,
        "top": top,
        "cell": cell,
        "labels": [LABEL_WORDS.get(lab, lab) for lab in labels],
        "cells": cells,
    }


def most_common_miss(confusion: dict[str, Any]) -> str | None:
    """The largest off-diagonal cell in words ("calls pitch-first texts no signal: 48 of 84")."""
    labels = list(confusion.get("labels") or [])
    matrix = confusion.get("matrix") or []
    best = None
    for i, row in enumerate(matrix):
        for j, n in enumerate(row):
            if i != j and n and (best is None or n > best[0]):
                best = (int(n), i, j, int(sum(row)))
    if best is None:
        return None
    n, i, j, total = best
    return (
        f"it calls {LABEL_WORDS.get(labels[i], labels[i])} texts {LABEL_WORDS.get(labels[j], labels[j])} "
        f"({n} of {total})"
    )
