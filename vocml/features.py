"""Feature extraction: the cue indicators as a scikit-learn transformer, and the feature union."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted, validate_data

from vocml.cues import CUE_NAMES, Span, cue_matrix, match_texts, resolve_cue_names
from vocml.text import as_texts
from vocml.tfidf import char_wb_grams, weigh_tfidf

WORD_TOKEN_PATTERN = r"(?u)\b\w[\w']*\b|[%$£€]"


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
        return cue_matrix(list(hits), self.cue_names_)

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
        min_n, max_n = self.ngram_range
        return char_wb_grams(word, self.vectorizer_.vocabulary_, min_n, max_n)

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


class LabelRatioScaler(TransformerMixin, BaseEstimator):
    """Scales each feature column by how unevenly it falls across the labels (naive-Bayes weighting, as in
    Wang & Manning's NBSVM): a word n-gram found mostly in one label's texts counts more in the linear
    model than one found alike in all of them, before regularisation treats every column the same.

    A column's scale is ``max over labels |log(p / q)| ** beta``, where ``p`` is the column's share of the
    label's (weighted) feature occurrences and ``q`` its share of the other labels', each count smoothed by
    ``alpha``. ``beta = 0`` leaves every column as it is. Being one number per column, the scale folds into
    the linear model's coefficients: predictions are made from those (:mod:`vocml.compile`).

    Parameters
    ----------
    beta : float
        The power of the ratio (0: no scaling, 1: the full ratio).
    alpha : float
        Smoothing added to every column's count in each label.
    """

    def __init__(self, *, beta: float = 0.5, alpha: float = 1.0) -> None:
        self.beta = beta
        self.alpha = alpha

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True  # the scale comes from the labels
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LabelRatioScaler:
        """Learn each column's scale from which labels' rows it occurs in (``sample_weight``: the rows' weights)."""
        if self.beta < 0 or self.alpha <= 0:
            raise ValueError(
                f"LabelRatioScaler needs beta >= 0 and alpha > 0; got beta={self.beta}, alpha={self.alpha}"
            )
        X, y = validate_data(self, X, y, accept_sparse="csr", reset=True)
        weights = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != (X.shape[0],):
            raise ValueError(f"sample_weight has shape {weights.shape}; expected one weight per row ({X.shape[0]},)")
        if not np.all(weights >= 0) or not weights.sum() > 0:
            raise ValueError("sample_weight must be 0 or more and not all zero (rows of weight zero are no data)")
        present = sp.csr_matrix(X != 0, dtype=np.float64)
        labels = np.asarray(y)
        per_label = []
        for label in np.unique(labels):
            mine = labels == label
            p = self.alpha + np.asarray(present.T @ np.where(mine, weights, 0.0)).ravel()
            q = self.alpha + np.asarray(present.T @ np.where(mine, 0.0, weights)).ravel()
            per_label.append(np.abs(np.log(p / p.sum()) - np.log(q / q.sum())))
        self.scale_ = np.max(per_label, axis=0) ** self.beta
        return self

    def transform(self, X: Any) -> sp.csr_matrix | np.ndarray:
        """``X`` with each column multiplied by its scale (a new matrix; ``X`` is not modified)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", reset=False)
        if not sp.issparse(X):
            return np.asarray(X) * self.scale_
        out = sp.csr_matrix(X, copy=True)
        out.data = out.data * self.scale_[out.indices].astype(out.dtype)
        return out


def _stack(entries: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-word ``(columns, counts)`` one after the other: all columns, all counts, and where each word starts."""
    indptr = np.zeros(len(entries) + 1, dtype=np.int64)
    if not entries:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64), indptr
    np.cumsum([len(e[0]) for e in entries], out=indptr[1:])
    return np.concatenate([e[0] for e in entries]), np.concatenate([e[1] for e in entries]), indptr


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
