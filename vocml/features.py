"""Feature extraction: the cue indicators as a scikit-learn transformer, and the feature union."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.utils.validation import check_is_fitted

from vocml.cues import CUE_NAMES, Span, match_texts, resolve_cue_names

WORD_TOKEN_PATTERN = r"(?u)\b\w[\w']*\b|[%$£€]"


def as_texts(X: Any) -> list[str]:
    """Return ``X`` (a list, tuple, array or pandas Series of strings) as a list of strings."""
    if isinstance(X, str):
        raise TypeError("expected an iterable of texts, got a single string; wrap it in a list")
    values = X.tolist() if hasattr(X, "tolist") else list(X)
    return [v if isinstance(v, str) else ("" if v is None else str(v)) for v in values]


class CueVectorizer(TransformerMixin, BaseEstimator):
    """Binary indicators of which cues fired in each text.

    Parameters
    ----------
    cues : list of str or None
        Cue names to use; ``None`` means every registered cue. Resolved in ``fit``.
    lang : str
        Language of the blank spaCy pipeline used for tokenisation.
    """

    def __init__(self, *, cues: Sequence[str] | None = None, lang: str = "en") -> None:
        self.cues = cues
        self.lang = lang

    def fit(self, X: Any, y: Any = None) -> CueVectorizer:
        """Resolve the cue names (raises ``UnknownCueError`` for unknown ones)."""
        self.cue_names_ = resolve_cue_names(self.cues)
        self.n_features_in_ = 1
        return self

    def match(self, X: Any) -> list[dict[str, list[Span]]]:
        """Cue hits (name -> character spans) for each text, restricted to this vectorizer's cues."""
        check_is_fitted(self)
        return self.keep(match_texts(as_texts(X), self.lang))

    def keep(self, hits: list[dict[str, list[Span]]]) -> list[dict[str, list[Span]]]:
        """``hits`` restricted to this vectorizer's cues."""
        names = set(self.cue_names_)
        if names.issuperset(CUE_NAMES):
            return hits
        return [{k: v for k, v in row.items() if k in names} for row in hits]

    def transform_hits(self, hits: Iterable[dict[str, list[Span]]]) -> sp.csr_matrix:
        """Turn cue hits from :meth:`match` into the indicator matrix."""
        check_is_fitted(self)
        index = {name: i for i, name in enumerate(self.cue_names_)}
        indptr = [0]
        indices: list[int] = []
        for row in hits:
            indices.extend(sorted(index[name] for name in row))
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.ones(len(indices), dtype=np.float64), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
            shape=(len(indptr) - 1, len(self.cue_names_)),
        )

    def transform(self, X: Any) -> sp.csr_matrix:
        """Indicator matrix of shape (n_texts, n_cues); does not modify ``X``."""
        return self.transform_hits(self.match(X))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``cue__<name>`` for each column."""
        check_is_fitted(self)
        return np.asarray([f"cue__{n}" for n in self.cue_names_], dtype=object)


MAX_MEMO_WORDS = 500_000


class WordCharVectorizer(TransformerMixin, BaseEstimator):
    """Tf-idf weighted character n-grams inside word boundaries, memoised per distinct word.

    Gives the same matrix as ``TfidfVectorizer(analyzer="char_wb", ...)`` (which it fits and keeps),
    but transforms much faster: char_wb n-grams never cross words, so a text's n-gram counts are the
    sum of its words' counts, and each distinct word is analysed once. The memo is a cache, not
    learned state: it is not pickled and is bounded in size.

    Parameters
    ----------
    ngram_range, min_df, max_features, sublinear_tf, dtype :
        As for :class:`~sklearn.feature_extraction.text.TfidfVectorizer`.
    """

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (3, 5),
        min_df: int | float = 3,
        max_features: int | None = 60_000,
        sublinear_tf: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.dtype = dtype

    def fit(self, X: Any, y: Any = None) -> WordCharVectorizer:
        """Learn the n-gram vocabulary and idf weights."""
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=tuple(self.ngram_range),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
            dtype=self.dtype,
        ).fit(as_texts(X))
        self.idf_ = np.asarray(self.vectorizer_.idf_, dtype=self.dtype)
        self.n_features_in_ = 1
        return self

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_memo", None)
        return state

    def _word_grams(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary columns of the n-grams of ``word`` and how often each occurs."""
        vocab = self.vectorizer_.vocabulary_
        min_n, max_n = self.ngram_range
        w = " " + word + " "
        w_len = len(w)
        counts: dict[int, int] = {}
        for n in range(min_n, max_n + 1):
            offset = 0
            idx = vocab.get(w[offset : offset + n])
            if idx is not None:
                counts[idx] = counts.get(idx, 0) + 1
            while offset + n < w_len:
                offset += 1
                idx = vocab.get(w[offset : offset + n])
                if idx is not None:
                    counts[idx] = counts.get(idx, 0) + 1
            if offset == 0:
                break
        return np.fromiter(counts, dtype=np.int64, count=len(counts)), np.fromiter(
            counts.values(), dtype=np.float64, count=len(counts)
        )

    def transform(self, X: Any) -> sp.csr_matrix:
        """The tf-idf matrix of shape (n_texts, n_features); does not modify ``X``."""
        check_is_fitted(self)
        texts = as_texts(X)
        memo: dict[str, tuple[np.ndarray, np.ndarray]] = self.__dict__.setdefault("_memo", {})
        if len(memo) > MAX_MEMO_WORDS:
            memo.clear()
        # Each text as the ids of its words among this batch's distinct words (``str.split()`` splits
        # on runs of whitespace, as char_wb's normalisation does).
        local: dict[str, int] = {}
        setdefault = local.setdefault
        cols: list[int] = []
        lengths: list[int] = []
        for text in texts:
            ids = [setdefault(word, len(local)) for word in text.lower().split()]
            cols.extend(ids)
            lengths.append(len(ids))
        indices, data, indptr = _stack([self._grams(word, memo) for word in local])
        n_features = len(self.idf_)
        words = sp.csr_matrix((data, indices, indptr), shape=(len(local), n_features))
        doc_indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=doc_indptr[1:])
        docs = sp.csr_matrix(
            (np.ones(len(cols), dtype=np.float64), np.asarray(cols, dtype=np.int64), doc_indptr),
            shape=(len(texts), len(local)),
        )
        counts = sp.csr_matrix(docs @ words, dtype=np.float64)
        counts.sum_duplicates()
        counts.eliminate_zeros()
        weigh_tfidf(counts.data, counts.indices, counts.indptr, self.idf_, sublinear=self.sublinear_tf)
        return sp.csr_matrix(counts, dtype=self.dtype)

    def _grams(self, word: str, memo: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """The memoised :meth:`_word_grams` of ``word``."""
        entry = memo.get(word)
        if entry is None:
            entry = memo[word] = self._word_grams(word)
        return entry

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """The character n-grams, one per column."""
        check_is_fitted(self)
        return np.asarray(self.vectorizer_.get_feature_names_out(), dtype=object)


def _stack(entries: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-word ``(columns, counts)`` one after the other: all columns, all counts, and where each word starts."""
    indptr = np.zeros(len(entries) + 1, dtype=np.int64)
    if not entries:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), indptr
    np.cumsum([len(e[0]) for e in entries], out=indptr[1:])
    return np.concatenate([e[0] for e in entries]), np.concatenate([e[1] for e in entries]), indptr


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


def build_features() -> FeatureUnion:
    """Word n-grams, character n-grams and cue indicators, side by side."""
    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    ngram_range=(1, 2),
                    min_df=2,
                    sublinear_tf=True,
                    token_pattern=WORD_TOKEN_PATTERN,
                    dtype=np.float32,
                ),
            ),
            ("char", WordCharVectorizer(ngram_range=(3, 5), min_df=3, max_features=60_000)),
            ("cues", CueVectorizer()),
        ]
    )
