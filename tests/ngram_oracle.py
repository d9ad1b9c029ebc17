"""Shared by the tests of the compiled prediction path: small fitted vectorizers (the oracle) and
texts that exercise tokenization (punctuation, digits, currency, apostrophes, non-ASCII letters,
including characters whose lower case has a different length, such as "İ")."""

from __future__ import annotations

import re

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
