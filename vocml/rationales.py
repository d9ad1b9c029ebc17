"""Marked reasons: the words a reader says justify a training text's label, read as sentence rows.

A long review's approach lives in one or two of its sentences; the rest is delivery, prices and the
weather. A reader marked, in every pitch-first and needs-first training text, the words that justify its
label (``data/real/rationales.jsonl``, one ``{"id", "spans", "note"}`` per text: a second reader for rounds
1-8, the labelling reader from round 9 on). Training
then also reads each sentence holding a marked phrase as a text of that label (weight ``weight``) and
each of the text's other sentences as a ``no_signal`` text (``rest_weight``), so the model learns which
sentence carries the approach: the sentence that the windows (:mod:`vocml.windows`) score at prediction.
On real-dev this lifted macro-F1 from 0.655 to 0.699 (0.694 as model 0.7.0 was built; README,
"Choosing the model").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from spacy.tokenizer import Tokenizer

from vocml.data import Record, json_lines
from vocml.errors import DataError
from vocml.windows import windows_of

NO_SIGNAL = "no_signal"


@dataclass(frozen=True, slots=True)
class RationaleSpec:
    """Where the marks are and how much their sentences weigh in training."""

    path: Path
    weight: float = 1.0  # a sentence holding a marked phrase, as a text of the label
    rest_weight: float = 0.3  # a sentence of the same text without one, as a no_signal text


def read_rationales(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """The marked phrases of each text id. Raises :class:`DataError` naming the line of a bad row."""
    marks: dict[str, list[str]] = {}
    for number, row in json_lines(path):
        rid = row.get("id") if isinstance(row, dict) else None
        if not isinstance(rid, str) or not rid:
            raise DataError("needs the id of the training text it marks", line=number, field="id")
        spans = row.get("spans")
        if not isinstance(spans, list) or not spans or not all(isinstance(s, str) and s.strip() for s in spans):
            raise DataError(
                "must be a non-empty list of phrases copied from the text",
                line=number,
                field="spans",
                record_id=rid,
            )
        if rid in marks:
            raise DataError(f"id {rid} is marked twice; keep one row per text", line=number, field="id", record_id=rid)
        marks[rid] = spans
    return marks


def sentence_rows(
    records: Sequence[Record],
    marks: dict[str, list[str]],
    tokenizer: Tokenizer,
    *,
    weight: float,
    rest_weight: float,
) -> tuple[list[str], list[str], list[float]]:
    """The extra training rows the marks give for ``records``: (texts, labels, weights).

    Only records with an id in ``marks`` and a pitch-first or needs-first label give rows; every
    sentence (as :func:`vocml.windows.windows_of` cuts them, however short the text) holding part of a
    marked phrase becomes a row of the record's label, every other sentence a ``no_signal`` row.

    Raises:
        DataError: a marked phrase that is not in its text (naming the id and the phrase).
    """
    texts: list[str] = []
    labels: list[str] = []
    weights: list[float] = []
    for rec in records:
        phrases = marks.get(rec.id) if rec.id is not None else None
        if not phrases or rec.label in (None, NO_SIGNAL):
            continue
        marked = []
        for phrase in phrases:
            at = rec.text.find(phrase)
            if at < 0:
                raise DataError(
                    f"the marked phrase {phrase!r} is not in text {rec.id}; copy it exactly from the text",
                    field="spans",
                    record_id=rec.id,
                )
            marked.append((at, at + len(phrase)))
        for a, b in windows_of(rec.text, tokenizer, min_sentences=1):
            inside = any(s < b and e > a for s, e in marked)
            if inside or rest_weight > 0:
                texts.append(rec.text[a:b])
                labels.append(str(rec.label) if inside else NO_SIGNAL)
                weights.append(weight if inside else rest_weight)
    return texts, labels, weights


__all__ = ["RationaleSpec", "read_rationales", "sentence_rows"]
