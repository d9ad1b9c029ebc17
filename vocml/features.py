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

from vocml.cues import Span, match_cues, resolve_cue_names
from vocml.text import get_nlp

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
        nlp = get_nlp(self.lang)
        names = set(self.cue_names_)
        out = []
        for doc in nlp.pipe(as_texts(X), batch_size=256):
            hits = match_cues(doc)
            out.append({k: v for k, v in hits.items() if k in names})
        return out

    def transform_hits(self, hits: Iterable[dict[str, list[Span]]]) -> sp.csr_matrix:
        """Turn cue hits from :meth:`match` into the indicator matrix."""
        check_is_fitted(self)
        index = {name: i for i, name in enumerate(self.cue_names_)}
        rows, cols = [], []
        n = 0
        for n, row in enumerate(hits, start=1):
            for name in row:
                rows.append(n - 1)
                cols.append(index[name])
        data = np.ones(len(rows), dtype=np.float64)
        return sp.csr_matrix((data, (rows, cols)), shape=(n, len(self.cue_names_)))

    def transform(self, X: Any) -> sp.csr_matrix:
        """Indicator matrix of shape (n_texts, n_cues); does not modify ``X``."""
        return self.transform_hits(self.match(X))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``cue__<name>`` for each column."""
        check_is_fitted(self)
        return np.asarray([f"cue__{n}" for n in self.cue_names_], dtype=object)


def build_features() -> FeatureUnion:
    """Word n-grams, character n-grams and cue indicators, side by side."""
    return FeatureUnion(
        [
            (
                "word",
                TfidfVectorizer(
                    ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=WORD_TOKEN_PATTERN,
                    dtype=np.float32,
                ),
            ),
            (
                "char",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(3, 5), min_df=3, sublinear_tf=True, max_features=60_000,
                    dtype=np.float32,
                ),
            ),
            ("cues", CueVectorizer()),
        ]
    )
