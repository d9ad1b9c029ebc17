"""Shared by the tests of the compiled prediction path: small fitted vectorizers (the oracle) and
texts that exercise tokenization (punctuation, digits, currency, apostrophes, non-ASCII letters,
including characters whose lower case has a different length, such as "İ")."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer
from spacy.tokenizer import Tokenizer

from tests.strategies import SAFE_CHARACTERS
from vocml.features import WORD_TOKEN_PATTERN, WordCharVectorizer
from vocml.ngrams import NgramBlock, NgramFeatures

CORPUS = [
    "Nobody asked what we needed; 20% off if we sign today.",
    "Asked how they schedule crews and what a missed job costs.",
    "Invoice 22 is wrong. Invoice 23 is wrong too!",
    "Demoed every module, EOQ pressure, demoed again.",
    "She listened and talked us out of the upgrade.",
    "Delivery was late, the delivery driver was rude.",
]

# A long text (four sentences): scored as a whole and sentence by sentence (vocml.windows).
LONG = (
    "We went in for a new sofa. The store was big and bright.  Parking was easy.\n"
    "Nobody asked what we needed; 20% off if we sign today! Delivery was late."
)

WORDS = st.sampled_from(
    [
        "asked",
        "needed",
        "Invoice",
        "is",
        "wrong",
        "20%",
        "£5",
        "don't",
        "İstanbul",
        "ÉCOLE",
        "the",
        "demoed",
        "off",
        "we",
        "sign",
        "today",
        "what",
        "x",
        "—",
        "...",
        "e.g.",
        "naïve",
        "ß",
        "Delivery",
        "late,",
    ]
)
TEXTS = st.one_of(
    st.lists(WORDS, min_size=0, max_size=30).map(" ".join),
    st.text(SAFE_CHARACTERS, max_size=200),
)

VECTORIZER = TfidfVectorizer(
    ngram_range=(1, 2), min_df=1, sublinear_tf=True, token_pattern=WORD_TOKEN_PATTERN, dtype=np.float32
).fit(CORPUS)
CHAR = WordCharVectorizer(min_df=1, max_features=None).fit(CORPUS)
PATTERN = re.compile(WORD_TOKEN_PATTERN)


def ngram_features(tokenizer: Tokenizer | None = None) -> NgramFeatures:
    """The compiled n-gram features of the oracle vectorizers."""
    char = NgramBlock.of(CHAR.vectorizer_, idf=CHAR.idf_, dtype=CHAR.dtype)
    return NgramFeatures(NgramBlock.of(VECTORIZER), char, tokenizer)


def occurrences(text: str) -> list[str]:
    """The vocabulary n-grams of ``text``, one entry per occurrence (what the vectorizer counts)."""
    tokens = PATTERN.findall(text.lower())
    grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    return sorted(g for g in grams if g in VECTORIZER.vocabulary_)


def pipeline_proba(pipeline: Any, texts: list[str]) -> np.ndarray:
    """What a fitted pipeline predicts, done the slow way (the oracle of the compiled path): each text's
    decision values from the pipeline itself, averaged with those of its best sentence window, each
    window's computed by the pipeline on the window's own text (:func:`vocml.windows.windows_of`)."""
    from vocml.text import get_tokenizer
    from vocml.windows import mix, windows_of

    features, clf = pipeline.named_steps["features"], pipeline.named_steps["clf"]
    inner = clf.calibrated_classifiers_[0]
    transform = pipeline[:-1].transform  # the features and their scaling
    z = np.asarray(inner.estimator.decision_function(transform(texts)), dtype=np.float64)
    weight = float(getattr(pipeline, "window_weight_", 0.0))
    owner, window_texts = [], []
    if weight:
        tokenizer = get_tokenizer(features.transformer_list[-1][1].lang)
        for i, text in enumerate(texts):
            for a, b in windows_of(text, tokenizer):
                owner.append(i)
                window_texts.append(text[a:b])
    if window_texts:
        zw = np.asarray(inner.estimator.decision_function(transform(window_texts)), dtype=np.float64)
        z = mix(z, zw, np.asarray(owner), weight, list(clf.classes_).index("no_signal"))
    logits = float(inner.calibrators[0].beta_) * z
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)
