"""What drives the share: which behaviours (cues) rose or fell most against the previous period.

Read from ``cue_counts`` (records per team, source, day and cue, kept in step with ``records``) and
``label_counts`` (all records, for the rate), so the same numbers serve the overview (all visible teams
together) and a team page. A behaviour's rate is the share of the period's records where it was found;
its change is in points against the previous period. Each driver comes with a few example sentences
from the teams' own records in the latest period (the sentence around the behaviour's phrase), for a
link to the records behind it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.db import cue_counts, label_counts, records
from service.trends import period_end, previous_period
from vocml.cues import CUES, match_texts

MAX_EXAMPLE_CHARS = 220
_SENTENCE = re.compile(r"[^.!?\n]*[.!?]?", re.S)


@dataclass
class Example:
    """A sentence from one record where the behaviour was found."""

    record_id: int
    team: str
    sentence: str


@dataclass
class Driver:
    """A behaviour's count and rate in the latest period and the one before, and examples."""

    cue: str
    title: str
    description: str
    label: str
    count: int
    previous_count: int
    rate: float
    previous_rate: float
    examples: list[Example] = field(default_factory=list)

    @property
    def change(self) -> float:
        """Change of the rate, in points (0-100 scale)."""
        return (self.rate - self.previous_rate) * 100

    @property
    def direction(self) -> str:
        return "rose" if self.change > 0 else "fell" if self.change < 0 else "held"


def _totals(conn: Connection, teams: Sequence[str], first: date, last: date, split: date) -> tuple[int, int]:
    """Records in [first, split) and [split, last] (model and review counts sum to one per record)."""
    c = label_counts.c
    in_latest = sa.case((c.day >= split, 1), else_=0)
    stmt = (
        sa.select(in_latest.label("latest"), sa.func.sum(c.n))
        .where(c.team.in_(list(teams)), c.day >= first, c.day <= last)
        .group_by(in_latest)
    )
    now = before = 0
    for latest, n in conn.execute(stmt):
        if latest:
            now = int(n or 0)
        else:
            before = int(n or 0)
    return now, before


def drivers(
    conn: Connection,
    teams: Sequence[str],
    latest: date,
    period: str,
    *,
    limit: int = 3,
    examples: int = 3,
) -> list[Driver]:
    """The behaviours whose rate rose or fell most from the period before ``latest`` to ``latest``.

    Returns up to ``limit`` risers then up to ``limit`` fallers (largest change first); behaviours
    found in neither period are left out. ``teams`` must already be the ones the caller may see.
    """
    if not teams:
        return []
    previous = previous_period(latest, period)
    last = period_end(latest, period)
    now_total, before_total = _totals(conn, teams, previous, last, latest)
    if now_total == 0:
        return []
    c = cue_counts.c
    in_latest = sa.case((c.day >= latest, 1), else_=0)
    stmt = (
        sa.select(c.cue, in_latest.label("latest"), sa.func.sum(c.n))
        .where(c.team.in_(list(teams)), c.day >= previous, c.day <= last)
        .group_by(c.cue, in_latest)
    )
    now: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for cue, is_latest, n in conn.execute(stmt):
        (now if is_latest else before)[str(cue)] += int(n or 0)
    found = []
    for cue in sorted(set(now) | set(before)):
        if cue not in CUES:  # a cue no longer in the registry
            continue
        entry = CUES[cue]
        found.append(
            Driver(
                cue=cue,
                title=entry.title,
                description=entry.description,
                label=entry.label,
                count=now[cue],
                previous_count=before[cue],
                rate=now[cue] / now_total,
                previous_rate=before[cue] / before_total if before_total else 0.0,
            )
        )
    risers = sorted((d for d in found if d.change > 0), key=lambda d: (-d.change, d.cue))[:limit]
    fallers = sorted((d for d in found if d.change < 0), key=lambda d: (d.change, d.cue))[:limit]
    chosen = risers + fallers
    for d in chosen:
        if d.count:
            d.examples = example_sentences(conn, teams, d.cue, latest, last, limit=examples)
    return chosen


def example_sentences(
    conn: Connection, teams: Sequence[str], cue: str, start: date, end: date, *, limit: int = 3
) -> list[Example]:
    """The newest records of ``teams`` between ``start`` and ``end`` where ``cue`` was found, each as the
    sentence around the behaviour's phrase; when the phrase is not found again (a record labelled by an
    earlier model), the sentence around its strongest evidence, else its first words."""
    pattern = f'%"{cue}"%'  # cue names are [a-z_]: no LIKE wildcard in them
    stmt = (
        sa.select(records.c.id, records.c.team, records.c.text, records.c.prediction)
        .where(
            records.c.team.in_(list(teams)),
            records.c.created_at >= datetime.combine(start, time.min),
            records.c.created_at < datetime.combine(end + timedelta(days=1), time.min),
            sa.cast(records.c.prediction, sa.Text).like(pattern),
        )
        .order_by(records.c.created_at.desc(), records.c.id.desc())
        .limit(limit * 4)  # a few more, so that repeated texts can be skipped
    )
    rows = conn.execute(stmt).all()
    hits = match_texts([r.text for r in rows]) if rows else []
    out = []
    seen: set[str] = set()
    for row, found in zip(rows, hits, strict=True):
        spans = found.get(cue) or []
        span = spans[0] if spans else _strongest_evidence(row.prediction, len(row.text))
        sentence = sentence_around(row.text, span)
        if sentence.lower() in seen:  # the same sentence twice says nothing more
            continue
        seen.add(sentence.lower())
        out.append(Example(int(row.id), str(row.team), sentence))
        if len(out) == limit:
            break
    return out


def _strongest_evidence(prediction: Any, length: int) -> tuple[int, int] | None:
    if isinstance(prediction, str):
        prediction = json.loads(prediction)
    evidence = [e for e in (prediction or {}).get("evidence") or [] if 0 <= e["start"] < e["end"] <= length]
    if not evidence:
        return None
    best = max(evidence, key=lambda e: e.get("weight") or 0.0)
    return int(best["start"]), int(best["end"])


def sentence_around(text: str, span: tuple[int, int] | None) -> str:
    """The sentence of ``text`` holding ``span`` (shortened around it past ``MAX_EXAMPLE_CHARS``)."""
    if span is None:
        snippet = " ".join(text.split())
        return snippet if len(snippet) <= MAX_EXAMPLE_CHARS else snippet[: MAX_EXAMPLE_CHARS - 1].rstrip() + "…"
    start, end = span
    for m in _SENTENCE.finditer(text):
        if m.start() <= start < max(m.end(), m.start() + 1):
            lo, hi = m.start(), max(m.end(), end)
            break
    else:
        lo, hi = start, end
    if hi - lo > MAX_EXAMPLE_CHARS:  # keep the phrase, cut around it
        lo = max(lo, start - MAX_EXAMPLE_CHARS // 2)
        hi = min(hi, lo + MAX_EXAMPLE_CHARS)
    sentence = " ".join(text[lo:hi].split())
    prefix = "…" if lo > 0 and text[lo - 1] not in ".!?\n" and not text[:lo].isspace() else ""
    suffix = "…" if hi < len(text) and text[hi - 1] not in ".!?" else ""
    return prefix + sentence + suffix


def as_dicts(found: Sequence[Driver]) -> list[dict[str, Any]]:
    """The drivers as JSON-ready dicts (the team page's and the API's shape)."""
    return [
        {
            "cue": d.cue,
            "title": d.title,
            "description": d.description,
            "label": d.label,
            "count": d.count,
            "previous_count": d.previous_count,
            "rate": round(d.rate, 4),
            "previous_rate": round(d.previous_rate, 4),
            "change_points": round(d.change, 1),
            "direction": d.direction,
            "examples": [{"record_id": e.record_id, "team": e.team, "sentence": e.sentence} for e in d.examples],
        }
        for d in found
    ]
