"""What the count tables must hold, recomputed from the stored records (tests share it)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from service.db import cue_counts, label_counts, records, score_sums


def assert_counts_match_records(engine: Any) -> None:
    """``label_counts``, ``cue_counts`` and ``score_sums`` agree with ``records`` row for row."""
    labels: Counter[tuple[Any, ...]] = Counter()
    cues: Counter[tuple[Any, ...]] = Counter()
    sums: dict[tuple[Any, ...], list[float]] = {}
    with engine.connect() as conn:
        for r in conn.execute(
            sa.select(
                records.c.team,
                records.c.source,
                records.c.day,
                records.c.label,
                records.c.reviewed_label,
                records.c.prediction,
            )
        ):
            key = (r.team, r.source or "", r.day)
            if r.reviewed_label is None:
                labels[(*key, r.label, "model")] += 1
            else:
                labels[(*key, r.reviewed_label, "review")] += 1
            pred = json.loads(r.prediction) if isinstance(r.prediction, str) else r.prediction
            for cue in set(pred.get("cues") or ()):
                cues[(*key, cue)] += 1
            needs, pitch = pred["scores"]["needs_first"], pred["scores"]["pitch_first"]
            s = sums.setdefault(key, [0, 0.0, 0.0, 0.0, 0.0, 0.0])
            for i, v in enumerate((1, needs, pitch, needs * needs, needs * pitch, pitch * pitch)):
                s[i] += v
        stored_labels = Counter({tuple(r[:-1]): r[-1] for r in conn.execute(sa.select(label_counts)) if r[-1] != 0})
        stored_cues = Counter({tuple(r[:-1]): r[-1] for r in conn.execute(sa.select(cue_counts)) if r[-1] != 0})
        stored_sums = {
            (r.team, r.source, r.day): [r.n, r.needs, r.pitch, r.nn, r.np, r.pp]
            for r in conn.execute(sa.select(score_sums))
            if r.n
        }
    assert stored_labels == labels
    assert stored_cues == cues
    assert set(stored_sums) == set(sums)
    for key, values in sums.items():
        assert stored_sums[key] == pytest.approx(values, abs=1e-6), key
