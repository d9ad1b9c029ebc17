"""Where the word n-grams of a batch occur in its texts: the character spans behind the evidence."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from vocml.sparse_rows import expand

if TYPE_CHECKING:
    from vocml.ngrams import NgramFeatures

# (column, start, end): an n-gram of the vocabulary and where it occurs in the text
Occurrence = tuple[int, int, int]
CHUNK = re.compile(r"\S+")  # what str.split() splits a text into


class NgramSpans:
    """Where the word n-grams of a batch transformed by :class:`NgramFeatures` occur in its texts."""

    def __init__(
        self,
        features: NgramFeatures,
        texts: list[str],
        seq: np.ndarray,
        rows: np.ndarray,
        row_ptr: np.ndarray,
        pairs: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
    ) -> None:
        self.features = features
        self.texts = texts
        self.seq = seq
        self.rows = rows
        self.row_ptr = row_ptr
        self.pairs = pairs

    def find(self, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> list[list[tuple[float, int, int]]]:
        """For each text, ``(weight, start, end)`` of every occurrence of the asked n-grams.

        ``rows``, ``cols``, ``weights``: which n-gram (column) of which text to locate, with its weight.
        """
        n = len(self.texts)
        out: list[list[tuple[float, int, int]]] = [[] for _ in range(n)]
        if len(rows) == 0:
            return out
        feats = self.features
        width = len(feats.word_idf)
        asked = rows.astype(np.int64) * width + cols
        order = np.argsort(asked, kind="stable")
        asked, asked_w = asked[order], weights[order]
        info = feats._info
        seq = self.seq
        starts = self._chunk_starts(info)
        # Every chunk's own occurrences, moved to the chunk's place in its text.
        at_pos, idx = expand(feats._occ_starts.indptr, seq)
        r = self.rows[at_pos]
        c = feats._occ_starts.indices[idx].astype(np.int64)
        s_a = starts[at_pos] + feats._occ_starts.data[idx].astype(np.int64)
        e_a = starts[at_pos] + feats._occ_ends.data[idx].astype(np.int64)
        if self.pairs is not None:
            p_rows, p_cols, left, right = self.pairs
            r = np.concatenate([r, p_rows])
            c = np.concatenate([c, p_cols])
            s_a = np.concatenate([s_a, starts[left] + info[seq[left], 3]])
            e_a = np.concatenate([e_a, starts[right] + info[seq[right], 2]])
        keys = r * width + c
        at = np.minimum(np.searchsorted(asked, keys), len(asked) - 1)
        hit = asked[at] == keys
        shifted = self._shifted_rows(info)
        for row, w, s, e in zip(
            r[hit].tolist(), asked_w[at[hit]].tolist(), s_a[hit].tolist(), e_a[hit].tolist(), strict=True
        ):
            if row not in shifted:
                out[row].append((w, s, e))
        if shifted:  # lower-casing moved characters in these texts: search them in the original text
            asked_in: dict[int, dict[int, float]] = {}
            for row, col, w in zip(rows.tolist(), cols.tolist(), weights.tolist(), strict=True):
                if row in shifted:
                    asked_in.setdefault(row, {})[col] = w
            for row in shifted:
                mine = asked_in.get(row, {})
                occ = locate_ngrams(self.texts[row], feats.pattern, feats.vocabulary, bigrams=feats.bigrams)
                out[row] = [(mine[col], s, e) for col, s, e in occ if col in mine]
        return out

    def _chunk_starts(self, info: np.ndarray) -> np.ndarray:
        """Character offset of every chunk in its text."""
        seq, row_ptr = self.seq, self.row_ptr
        widths = info[seq, 4] + 1
        starts = np.cumsum(widths) - widths
        row_starts = np.append(starts, 0)[row_ptr[:-1]]  # (an empty text's value is never used)
        starts -= np.repeat(row_starts, np.diff(row_ptr))
        # Where the chunks would end if one character separated them; other texts are measured.
        ends = np.zeros(len(self.texts), dtype=np.int64)
        filled = np.diff(row_ptr) > 0
        last = row_ptr[1:][filled] - 1
        ends[filled] = starts[last] + widths[last] - 1
        lengths = np.fromiter(map(len, self.texts), dtype=np.int64, count=len(self.texts))
        for i in np.flatnonzero(filled & (ends != lengths)).tolist():
            starts[row_ptr[i] : row_ptr[i + 1]] = [m.start() for m in CHUNK.finditer(self.texts[i])]
        return starts

    def _shifted_rows(self, info: np.ndarray) -> set[int]:
        shifted = info[self.seq, 5] != 0
        return set(self.rows[shifted].tolist()) if shifted.any() else set()


def locate_ngrams(
    text: str, pattern: re.Pattern[str], vocabulary: dict[str, int], *, bigrams: bool
) -> list[Occurrence]:
    """Where each vocabulary unigram (and bigram) occurs in ``text``, tokens lower-cased one by one."""
    matches = list(pattern.finditer(text))
    tokens = [m.group().lower() for m in matches]
    occ: list[Occurrence] = []
    for j, (m, token) in enumerate(zip(matches, tokens, strict=True)):
        col = vocabulary.get(token)
        if col is not None:
            occ.append((col, m.start(), m.end()))
        if bigrams and j + 1 < len(tokens):
            col = vocabulary.get(token + " " + tokens[j + 1])
            if col is not None:
                occ.append((col, m.start(), matches[j + 1].end()))
    return occ
