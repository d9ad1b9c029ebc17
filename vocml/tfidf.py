"""The tf-idf arithmetic both feature paths share: the training-time vectorizers of
:mod:`vocml.features` and the compiled n-gram features of :mod:`vocml.ngrams` call these, so their
numbers agree by construction. No scikit-learn here."""

from __future__ import annotations

import numpy as np


def weigh_tfidf(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray, idf: np.ndarray, *, sublinear: bool) -> None:
    """Turn a CSR's n-gram counts into ``TfidfVectorizer`` values, in place, in ``data``'s dtype.

    ``1 + log(count)`` when ``sublinear``, times the idf of the column, each row l2-normalised; without
    scikit-learn's input checks, which cost more than the arithmetic for a single text.
    """
    if sublinear:
        np.log(data, out=data)
        data += 1.0
    data *= idf[indices]
    n_rows = len(indptr) - 1
    rows = np.repeat(np.arange(n_rows), np.diff(indptr))
    # squares in the data's precision, summed in float64: what scikit-learn's normalize does
    norms = np.sqrt(np.bincount(rows, weights=np.square(data).astype(np.float64, copy=False), minlength=n_rows))
    norms[norms == 0] = 1.0
    data /= norms[rows]


def char_wb_grams(word: str, vocabulary: dict[str, int], min_n: int, max_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Vocabulary columns of the ``char_wb`` n-grams of one (lower-cased) word and how often each occurs,
    as scikit-learn's ``_char_wb_ngrams`` counts them (the word padded with a space on each side)."""
    w = " " + word + " "
    w_len = len(w)
    counts: dict[int, int] = {}
    for n in range(min_n, max_n + 1):
        offset = 0
        idx = vocabulary.get(w[offset : offset + n])
        if idx is not None:
            counts[idx] = counts.get(idx, 0) + 1
        while offset + n < w_len:
            offset += 1
            idx = vocabulary.get(w[offset : offset + n])
            if idx is not None:
                counts[idx] = counts.get(idx, 0) + 1
        if offset == 0:
            break
    return np.fromiter(counts, dtype=np.int64, count=len(counts)), np.fromiter(
        counts.values(), dtype=np.float64, count=len(counts)
    )
