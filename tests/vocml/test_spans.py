"""The evidence spans: every asked n-gram is found where it occurs, in the original text's offsets."""

from __future__ import annotations

import numpy as np

from tests.ngram_oracle import PATTERN, VECTORIZER, ngram_features
from vocml.spans import locate_ngrams


def test_every_occurrence_is_located() -> None:
    word, _, spans, _, _ = ngram_features().transform(["Invoice 22 is wrong. Invoice 23 is wrong too!"])
    col = VECTORIZER.vocabulary_["invoice"]
    bigram = VECTORIZER.vocabulary_["is wrong"]
    found = spans.find(np.array([0, 0]), np.array([col, bigram]), np.array([1.0, 2.0]))
    assert sorted(found[0]) == [(1.0, 0, 7), (1.0, 21, 28), (2.0, 11, 19), (2.0, 32, 40)]
    assert spans.find(np.array([], dtype=int), np.array([], dtype=int), np.array([])) == [[]]
    assert word[0, col] > 0


def test_a_text_whose_lower_case_changes_length_keeps_its_offsets() -> None:
    """ "İ" lower-cases to two characters: the spans still point into the original text."""
    texts = ["İstanbul office asked what we needed", "asked what we needed"]
    word, _, spans, _, _ = ngram_features().transform(texts)
    rows, cols = word.nonzero()
    found = spans.find(rows, cols, np.ones(len(rows)))
    for text, occ in zip(texts, found, strict=True):
        shown = {text[s:e] for _, s, e in occ}
        assert {"asked", "what we", "needed"} <= shown


def test_locate_ngrams_on_length_changing_lowercase() -> None:
    text = "İstanbul office asked what we needed"
    occ = locate_ngrams(text, PATTERN, VECTORIZER.vocabulary_, bigrams=True)
    assert {"asked", "what we", "needed"} <= {text[s:e] for _, s, e in occ}
