"""Sentence windows: a long text is scored as a whole and sentence by sentence.

A long review's one sentence about the salesperson is diluted by the rest of the text in a tf-idf
vector of the whole. So a text of :data:`MIN_SENTENCES` or more sentences is also scored sentence by
sentence (each sentence a *window*), and its scores are averaged with those of the sentence that looks
most like a selling approach: ``(1 - w) * z_text + w * z_window`` before the temperature, ``w`` being
the model's ``window_weight`` (0 for a model without windows). On real-dev this lifted macro-F1 by
about 0.035 with the same fitted numbers (README, "Choosing the model").

A sentence ends with a whitespace-separated chunk whose last spaCy token is ``.``, ``!`` or ``?``; a
window is a substring of the text from a chunk's start to a chunk's end, so its n-grams are those of
the chunks it holds, and its cues are the text's cue hits inside it (a window starts after a
sentence-ending token, which also stops the cues' negation look-back).
"""

from __future__ import annotations

import re

import numpy as np
from spacy.tokenizer import Tokenizer

WINDOW_WEIGHT = 0.5  # the share of the best sentence's scores in a long text's scores (chosen on real-dev)
MIN_SENTENCES = 3  # texts of fewer sentences are scored as a whole only
SENTENCE_END = (".", "!", "?")
# a long text's evidence comes from at most this many of its sentences, those leaning most toward its
# label (on the marked real-dev texts, one: 0.687, two: 0.706, three: 0.686 of shown phrases inside a mark)
EVIDENCE_SENTENCES = 2
_CHUNK = re.compile(r"\S+")


def chunk_spans(text: str) -> list[tuple[int, int]]:
    """Where each whitespace-separated chunk of ``text`` starts and ends (the chunks of ``text.split()``)."""
    return [m.span() for m in _CHUNK.finditer(text)]


def plan(
    ends: np.ndarray, rows: np.ndarray, row_ptr: np.ndarray, min_sentences: int = MIN_SENTENCES
) -> tuple[np.ndarray, ...]:
    """The windows (sentences) of a batch of texts given as chunk positions.

    Args:
        ends: for each chunk position of the batch, whether that chunk ends a sentence.
        rows: the text of each position; ``row_ptr``: where each text's positions start (and the end).
        min_sentences: texts of fewer sentences get no windows.

    Returns:
        ``(start, end, owner, end_pos, win_of_sent)``: each window's first and last position and its
        text; the last position of every sentence; for each sentence, its window (-1: its text is short).
    """
    n = len(row_ptr) - 1
    is_end = ends.astype(bool, copy=True)
    nonempty = row_ptr[1:] > row_ptr[:-1]
    is_end[row_ptr[1:][nonempty] - 1] = True  # a text's last sentence runs to its end
    end_pos = np.flatnonzero(is_end)
    sent_text = rows[end_pos]
    sent_start = np.empty_like(end_pos)
    if len(end_pos):
        sent_start[0] = 0
        sent_start[1:] = end_pos[:-1] + 1
        first = np.r_[True, sent_text[1:] != sent_text[:-1]]
        sent_start[first] = row_ptr[sent_text[first]]
    long_enough = np.bincount(sent_text, minlength=n)[sent_text] >= min_sentences
    k = np.flatnonzero(long_enough)
    win_of_sent = np.full(len(end_pos), -1, dtype=np.int64)
    win_of_sent[k] = np.arange(len(k))
    return sent_start[k], end_pos[k], sent_text[k], end_pos, win_of_sent


def best_windows(zw: np.ndarray, owner: np.ndarray, no_signal: int) -> tuple[np.ndarray, np.ndarray]:
    """The texts that have windows and, for each, its most signal-like window (the largest margin of a
    selling approach over ``no_signal``; the first such window on a tie)."""
    signal = np.delete(zw, no_signal, axis=1)
    margin = signal.max(axis=1) - zw[:, no_signal]
    order = np.lexsort((-margin, owner))  # by text, most signal-like window first
    texts, first = np.unique(owner[order], return_index=True)
    return texts, order[first]


def evidence_windows(zw: np.ndarray, owner: np.ndarray, label: np.ndarray, no_signal: int) -> np.ndarray:
    """The windows whose words may be shown as evidence for their text's label (``label``, per text): the
    window that leans most toward that label over ``no_signal`` and, up to :data:`EVIDENCE_SENTENCES`,
    the next ones that lean toward it at all. Indices of windows, grouped by text."""
    margin = zw[np.arange(len(owner)), label[owner]] - zw[:, no_signal]
    order = np.lexsort((-margin, owner))  # by text, the window leaning most toward the label first
    mine = owner[order]
    rank = np.arange(len(order)) - np.searchsorted(mine, mine)
    keep = (rank < EVIDENCE_SENTENCES) & ((rank == 0) | (margin[order] > 0))
    return order[keep]


def mix(z: np.ndarray, zw: np.ndarray, owner: np.ndarray, weight: float, no_signal: int) -> np.ndarray:
    """Each text's decision values averaged with those of its most signal-like window
    (:func:`best_windows`); texts without windows keep their own."""
    if weight == 0.0 or len(owner) == 0:
        return z
    texts, best = best_windows(zw, owner, no_signal)
    out = z.copy()
    out[texts] = (1.0 - weight) * z[texts] + weight * zw[best]
    return out


def windows_of(text: str, tokenizer: Tokenizer, *, min_sentences: int = MIN_SENTENCES) -> list[tuple[int, int]]:
    """The character spans of ``text``'s windows, one text at a time (the definition the batch
    arithmetic follows; tests compare the two). With ``min_sentences=1``: every sentence of any text."""
    spans = chunk_spans(text)
    ends = [bool(toks) and toks[-1].text in SENTENCE_END for toks in (tokenizer(text[a:b]) for a, b in spans)]
    if not spans:
        return []
    rows = np.zeros(len(spans), dtype=np.int64)
    start, end, _, _, _ = plan(np.asarray(ends), rows, np.asarray([0, len(spans)]), min_sentences)
    return [(spans[s][0], spans[e][1]) for s, e in zip(start.tolist(), end.tolist(), strict=True)]


def cue_rows(
    hits: list[dict[str, list[tuple[int, int]]]],
    columns: dict[str, int],
    owner: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Which cue (column) lies inside which window: the text's cue hits placed in its sentences.

    Windows are ordered by text and, within a text, by position, and do not overlap; a hit belongs to
    the window that holds all of it. Returns the windows' and the columns' indices (duplicates kept).
    """
    texts, cols, starts, ends = [], [], [], []
    for i in np.unique(owner).tolist():
        for name, spans in hits[i].items():
            col = columns.get(name)
            if col is None:
                continue
            for s, e in spans:
                texts.append(i)
                cols.append(col)
                starts.append(s)
                ends.append(e)
    if not texts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    scale = int(max(end.max(), max(ends))) + 1
    keys = owner * scale + start
    hit_text = np.asarray(texts, dtype=np.int64)
    hit_start = np.asarray(starts, dtype=np.int64)
    w = np.searchsorted(keys, hit_text * scale + hit_start, side="right") - 1
    ok = w >= 0
    w_safe = np.maximum(w, 0)
    ok &= (owner[w_safe] == hit_text) & (np.asarray(ends) <= end[w_safe])
    return w[ok], np.asarray(cols, dtype=np.int64)[ok]


__all__ = [
    "EVIDENCE_SENTENCES",
    "MIN_SENTENCES",
    "WINDOW_WEIGHT",
    "best_windows",
    "chunk_spans",
    "cue_rows",
    "evidence_windows",
    "mix",
    "plan",
    "windows_of",
]
