"""The compiled n-gram features give the fitted vectorizers' numbers, spans and batch Doc, on any text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.ngram_oracle import CHAR, CORPUS, PATTERN, TEXTS, VECTORIZER, ngram_features, occurrences
from vocml import ngrams
from vocml.ngrams import NgramFeatures
from vocml.text import ChunkTokenizer, get_tokenizer


def _assert_equal_to_vectorizers(fast: NgramFeatures, texts: list[str]) -> None:
    word, char, spans, batch_doc, _ = fast.transform(texts)
    np.testing.assert_allclose(word.toarray(), VECTORIZER.transform(texts).toarray(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(char.toarray(), CHAR.transform(texts).toarray(), rtol=1e-6, atol=1e-7)
    # Ask where every n-gram of every text occurs (weight = column, to tell them apart).
    rows, cols = word.nonzero()
    found = spans.find(rows, cols, cols.astype(float))
    names = VECTORIZER.get_feature_names_out()
    for text, occ in zip(texts, found, strict=True):
        located = []
        for col, start, end in occ:
            # each occurrence spans the n-gram's tokens in the original text
            assert " ".join(t.lower() for t in PATTERN.findall(text[start:end])) == names[int(col)]
            located.append(names[int(col)])
        assert sorted(located) == occurrences(text), text
    if fast.tokenizer is not None:  # the batch Doc is the one the chunk tokenizer builds
        assert batch_doc is not None
        doc, bounds = batch_doc
        expected, expected_bounds = ChunkTokenizer(get_tokenizer()).batch(texts)
        assert bounds == expected_bounds
        assert [(t.text, t.whitespace_) for t in doc] == [(t.text, t.whitespace_) for t in expected]


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=5))
def test_ngram_features_equal_the_vectorizers(texts: list[str]) -> None:
    fast = ngram_features(get_tokenizer())
    _assert_equal_to_vectorizers(fast, texts)
    _assert_equal_to_vectorizers(fast, texts[::-1] + CORPUS)  # chunks already analysed, others new
    _assert_equal_to_vectorizers(ngram_features(), texts)  # no tokenizer: no Doc


def test_irregular_whitespace_keeps_offsets() -> None:
    texts = ["  Invoice 22\tis   wrong.\n\nInvoice 23 is wrong too! ", "asked what\u00a0we needed", "\n", ""]
    _assert_equal_to_vectorizers(ngram_features(get_tokenizer()), texts)


def test_the_chunk_table_starts_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ngrams, "MAX_CHUNKS", 5)
    fast = ngram_features(get_tokenizer())
    for _ in range(3):
        _assert_equal_to_vectorizers(fast, CORPUS)
        assert len(fast) <= 5 + max(len(t.split()) for t in CORPUS) * len(CORPUS)
    assert len(fast) < sum(len(t.split()) for t in CORPUS)
