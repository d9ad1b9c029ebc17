"""Small sparse-row helpers for the compiled prediction path: rows that grow one chunk at a time,
gathered and merged into CSR arrays with numpy (cheaper than scipy's constructors for a few rows)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp


def expand(indptr: np.ndarray, seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows ``seq`` of a CSR with ``indptr``: for each of their entries, which position of ``seq``
    it belongs to, and its index in the CSR's ``indices``/``data``."""
    first = indptr[seq].astype(np.int64)
    counts = indptr[seq + 1] - first
    at = np.repeat(np.arange(len(seq)), counts)
    idx = first[at] + np.arange(len(at)) - np.repeat(np.cumsum(counts) - counts, counts)
    return at, idx


def merge(
    n: int, rows: np.ndarray, cols: np.ndarray, values: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum the values of repeated ``(row, column)`` pairs: a canonical CSR's ``(data, indices, indptr)``."""
    keys, inverse = np.unique(rows * width + cols, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(keys))
    return sums, (keys % width).astype(np.int32), np.searchsorted(keys // width, np.arange(n + 1)).astype(np.int32)


class GrowingRows:
    """A sparse matrix that grows a row at a time: appended rows wait in lists until :meth:`flush`
    moves them into the arrays (capacity doubling); ``matrix()`` views the arrays as CSR."""

    def __init__(self, width: int, data_dtype: Any = np.float64) -> None:
        self.width = width
        self.rows = 0
        self.indptr = np.zeros(1025, dtype=np.int32)
        self.indices = np.empty(8192, dtype=np.int32)
        self.data = np.empty(8192, dtype=data_dtype)
        self._cols: list[Any] = []
        self._values: list[Any] = []
        self._lengths: list[int] = []

    def append(self, cols: list[int] | np.ndarray, values: list[float] | np.ndarray) -> None:
        self._cols.append(cols)
        self._values.append(values)
        self._lengths.append(len(cols))

    def flush(self) -> None:
        """Move the appended rows into the arrays."""
        if not self._lengths:
            return
        lo = int(self.indptr[self.rows])
        hi = lo + sum(self._lengths)
        if hi > len(self.indices):
            size = max(hi, 2 * len(self.indices))
            self.indices = np.resize(self.indices, size)
            self.data = np.resize(self.data, size)
        end = self.rows + len(self._lengths)
        if end + 1 > len(self.indptr):
            self.indptr = np.resize(self.indptr, max(end + 1, 2 * len(self.indptr)))
        if hi > lo:
            self.indices[lo:hi] = np.concatenate(self._cols)
            self.data[lo:hi] = np.concatenate(self._values)
        self.indptr[self.rows + 1 : end + 1] = lo + np.cumsum(self._lengths)
        self.rows = end
        self._cols, self._values, self._lengths = [], [], []

    def gather(self, seq: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The entries of table rows ``seq`` (repeats allowed) as ``(row, column, value)``, each
        labelled with the matching entry of ``rows``."""
        at, idx = expand(self.indptr, seq)
        return rows[at], self.indices[idx], self.data[idx]

    def matrix(self) -> sp.csr_matrix:
        nnz = int(self.indptr[self.rows])
        return sp.csr_matrix(
            (self.data[:nnz], self.indices[:nnz], self.indptr[: self.rows + 1]), shape=(self.rows, self.width)
        )
