"""Prediction without scikit-learn's per-call machinery: the fitted pipeline's arithmetic, done directly.

scikit-learn's ``transform``/``predict_proba`` re-validate their input, dispatch on array namespaces
and stack sparse blocks on every call; for one text that costs several times the arithmetic. This
module reads the fitted pieces once (vocabulary, idf, coefficients, calibration temperature) and
computes the same numbers (property-tested against the pipeline in tests/vocml/test_inference.py):

- :class:`WordNgrams`: a fitted word-level ``TfidfVectorizer``'s matrix, plus the character span of
  every n-gram occurrence, which is what the evidence needs;
- :class:`LinearScores`: the calibrated logistic regression's probabilities from the feature blocks,
  summed block by block (no ``hstack``).

Training, cross-validation and ``Pipeline.predict_proba`` still go through scikit-learn.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from vocml.features import merge_rows, weigh_tfidf

# (column, start, end): an n-gram of the vocabulary and where it occurs in the text
Occurrence = tuple[int, int, int]
FEW_TEXTS = 8  # up to this many texts, WordNgrams merges counts text by text


class WordNgrams:
    """A fitted word ``TfidfVectorizer`` (1-2 grams, lower-cased, regex tokens) as a plain function.

    Args:
        vectorizer: the fitted vectorizer; :meth:`supports` says whether its settings can be compiled.
    """

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        if not self.supports(vectorizer):
            raise ValueError("this TfidfVectorizer's settings are not supported by WordNgrams")
        self.pattern = re.compile(vectorizer.token_pattern)
        self.vocabulary: dict[str, int] = dict(vectorizer.vocabulary_)
        self.bigrams = vectorizer.ngram_range[1] == 2
        self.idf = np.asarray(vectorizer.idf_)
        self.dtype = vectorizer.dtype
        self.sublinear = bool(vectorizer.sublinear_tf)

    @staticmethod
    def supports(vectorizer: Any) -> bool:
        """True for the settings this module reproduces exactly (everything else uses the vectorizer)."""
        return (
            isinstance(vectorizer, TfidfVectorizer)
            and vectorizer.analyzer == "word"
            and vectorizer.lowercase
            and vectorizer.preprocessor is None
            and vectorizer.tokenizer is None
            and vectorizer.strip_accents is None
            and vectorizer.stop_words is None
            and tuple(vectorizer.ngram_range) in ((1, 1), (1, 2))
            and vectorizer.norm == "l2"
            and vectorizer.use_idf
            and not vectorizer.binary
            and hasattr(vectorizer, "idf_")
        )

    def transform(self, texts: list[str]) -> tuple[sp.csr_matrix, NgramLocator]:
        """The vectorizer's tf-idf matrix for ``texts`` and a locator of their n-grams' character spans."""
        indptr = [0]
        indices: list[int] = []
        locator = NgramLocator(self.pattern, self.vocabulary, bigrams=self.bigrams)
        for text in texts:
            uni, bi = locator.add_text(text)
            indices.extend([c for c in uni if c is not None])
            indices.extend([c for c in bi if c is not None])
            indptr.append(len(indices))
        shape = (len(texts), len(self.idf))
        if len(texts) <= FEW_TEXTS:  # merge per text: scipy's conversions cost more than a few rows
            data, cols, bounds = merge_rows(np.asarray(indices, dtype=np.int32), np.ones(len(indices)), indptr)
            data = data.astype(self.dtype)
            weigh_tfidf(data, cols, bounds, self.idf, sublinear=self.sublinear)
            return sp.csr_matrix((data, cols, bounds), shape=shape), locator
        X = sp.csr_matrix(
            (np.ones(len(indices), dtype=self.dtype), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
            shape=shape,
        )
        X.sum_duplicates()
        weigh_tfidf(X.data, X.indices, X.indptr, self.idf, sublinear=self.sublinear)
        return X, locator


class NgramLocator:
    """Where the word n-grams of transformed texts occur, worked out only for the n-grams asked about.

    Finding every token's offsets costs as much as the tf-idf itself; the evidence needs the spans of
    a dozen n-grams per text at most.
    """

    def __init__(self, pattern: re.Pattern[str], vocabulary: dict[str, int], *, bigrams: bool) -> None:
        self.pattern = pattern
        self.vocabulary = vocabulary
        self.bigrams = bigrams
        self._rows: list[tuple[str, str, list[str], list[int | None], list[int | None]]] = []

    def add_text(self, text: str) -> tuple[list[int | None], list[int | None]]:
        """Tokenize ``text`` as the vectorizer does and register it; return the vocabulary column
        (or ``None``) of each of its unigrams and bigrams."""
        low = text.lower()
        tokens = self.pattern.findall(low)
        get = self.vocabulary.get
        uni = [get(t) for t in tokens]
        bi = [get(a + " " + b) for a, b in zip(tokens, tokens[1:], strict=False)] if self.bigrams else []
        self._rows.append((text, low, tokens, uni, bi))
        return uni, bi

    def occurrences(self, i: int) -> list[Occurrence]:
        """Every vocabulary n-gram occurrence of text ``i``."""
        _, _, _, uni, bi = self._rows[i]
        return self.find(i, {c for c in (*uni, *bi) if c is not None})

    def find(self, i: int, columns: Any) -> list[Occurrence]:
        """``(column, start, end)`` of each occurrence in text ``i`` of the given columns."""
        text, low, tokens, uni, bi = self._rows[i]
        need_uni = [j for j, c in enumerate(uni) if c is not None and c in columns]
        need_bi = [j for j, c in enumerate(bi) if c is not None and c in columns]
        if not need_uni and not need_bi:
            return []
        if len(low) != len(text):  # lower-casing moved characters: locate in the original text
            return [o for o in locate_ngrams(text, self.pattern, self.vocabulary, bigrams=self.bigrams) if o[0] in columns]
        last = max(need_uni[-1] if need_uni else 0, need_bi[-1] + 1 if need_bi else 0)
        # Token k is the first occurrence of its text after token k-1: the pattern's matches are
        # leftmost and only non-word characters lie between them.
        spans = []
        end = 0
        find = low.find
        for token in tokens[: last + 1]:
            start = find(token, end)
            end = start + len(token)
            spans.append((start, end))
        out: list[Occurrence] = [(uni[j], spans[j][0], spans[j][1]) for j in need_uni]  # type: ignore[misc]
        out.extend((bi[j], spans[j][0], spans[j + 1][1]) for j in need_bi)  # type: ignore[misc]
        return out


def locate_ngrams(text: str, pattern: re.Pattern[str], vocabulary: dict[str, int], *, bigrams: bool) -> list[Occurrence]:
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


class LinearScores:
    """Calibrated probabilities of a fitted ``CalibratedClassifierCV(LogisticRegression, ensemble=False,
    method="temperature")`` from its feature blocks.

    Args:
        calibrated: the fitted calibrated classifier.
        widths: the number of columns of each feature block, in the union's order.
    """

    def __init__(self, calibrated: Any, widths: list[int]) -> None:
        if not self.supports(calibrated):
            raise ValueError("only a single temperature-calibrated linear model is supported")
        inner = calibrated.calibrated_classifiers_[0]
        coef = np.asarray(inner.estimator.coef_, dtype=np.float64)
        bounds = np.cumsum([0, *widths])
        # Each block's coefficients, transposed and contiguous for sparse @ dense.
        self.blocks = [np.ascontiguousarray(coef[:, lo:hi].T) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
        self.intercept = np.asarray(inner.estimator.intercept_, dtype=np.float64)
        self.beta = float(inner.calibrators[0].beta_)

    @staticmethod
    def supports(calibrated: Any) -> bool:
        """True for one temperature-calibrated multinomial linear model (the shipped configuration)."""
        inners = getattr(calibrated, "calibrated_classifiers_", None)
        if not inners or len(inners) != 1 or inners[0].method != "temperature":
            return False
        coef = getattr(inners[0].estimator, "coef_", None)
        return coef is not None and coef.shape[0] == len(calibrated.classes_) > 2

    def predict_proba(self, blocks: list[sp.csr_matrix]) -> np.ndarray:
        """Probabilities, one row per text, from the feature blocks (same order as ``widths``)."""
        decision = self.intercept + sum(
            np.asarray(X @ W, dtype=np.float64) for X, W in zip(blocks, self.blocks, strict=True)
        )
        if np.all((decision >= 0) & (decision <= 1)) and np.allclose(decision.sum(axis=1), 1.0):
            # what scikit-learn does with decision values that look like probabilities
            logits = self.beta * np.log(decision + 1e-12)
        else:
            logits = self.beta * decision
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        logits[(logits > 1.0) & (logits <= 1.0 + 1e-5)] = 1.0
        return logits
