"""The direct arithmetic of vocml.inference gives the fitted pipeline's numbers, on any text."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from vocml.features import WORD_TOKEN_PATTERN, as_texts
from vocml.inference import FEW_TEXTS, LinearScores, WordNgrams, locate_ngrams
from vocml.model import Classifier

CORPUS = [
    "Nobody asked what we needed; 20% off if we sign today.",
    "Asked how they schedule crews and what a missed job costs.",
    "Invoice 22 is wrong. Invoice 23 is wrong too!",
    "Demoed every module, EOQ pressure, demoed again.",
    "She listened and talked us out of the upgrade.",
    "Delivery was late, the delivery driver was rude.",
]

# Real-looking words mixed with punctuation, digits, currency, apostrophes and non-ASCII letters
# (including characters whose lower case has a different length, such as "İ").
WORDS = st.sampled_from(
    ["asked", "needed", "Invoice", "is", "wrong", "20%", "£5", "don't", "İstanbul", "ÉCOLE", "the", "demoed",
     "off", "we", "sign", "today", "what", "x", "—", "...", "e.g.", "naïve", "ß", "Delivery", "late,"]
)
TEXTS = st.one_of(
    st.lists(WORDS, min_size=0, max_size=30).map(" ".join),
    st.text(max_size=200),
)


def _word_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        ngram_range=(1, 2), min_df=1, sublinear_tf=True, token_pattern=WORD_TOKEN_PATTERN, dtype=np.float32
    ).fit(CORPUS)


VECTORIZER = _word_vectorizer()
FAST = WordNgrams(VECTORIZER)


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=5))
def test_word_ngrams_equal_the_vectorizer(texts: list[str]) -> None:
    X, locator = FAST.transform(texts)
    np.testing.assert_allclose(X.toarray(), VECTORIZER.transform(texts).toarray(), rtol=1e-6, atol=1e-7)
    many = texts * (FEW_TEXTS // len(texts) + 1)  # past FEW_TEXTS: the batch arithmetic
    np.testing.assert_allclose(FAST.transform(many)[0].toarray(), VECTORIZER.transform(many).toarray(), rtol=1e-6, atol=1e-7)
    names = VECTORIZER.get_feature_names_out()
    for i, text in enumerate(texts):
        occ = locator.occurrences(i)
        # every n-gram counted in the matrix is located as often as it occurs
        assert len(occ) == sum(1 for t in FAST.pattern.findall(text.lower()) if t in VECTORIZER.vocabulary_) + sum(
            1 for a, b in zip(FAST.pattern.findall(text.lower()), FAST.pattern.findall(text.lower())[1:], strict=False)
            if f"{a} {b}" in VECTORIZER.vocabulary_
        ) or len(text.lower()) != len(text)
        for col, start, end in occ:
            # each occurrence spans the n-gram's tokens in the original text
            tokens = [t.lower() for t in FAST.pattern.findall(text[start:end])]
            assert " ".join(tokens) == names[col]


def test_word_ngrams_count_every_occurrence() -> None:
    X, locator = FAST.transform(["Invoice 22 is wrong. Invoice 23 is wrong too!"])
    col = VECTORIZER.vocabulary_["invoice"]
    assert [(s, e) for c, s, e in locator.occurrences(0) if c == col] == [(0, 7), (21, 28)]
    assert locator.find(0, {col}) == [(col, 0, 7), (col, 21, 28)]
    assert locator.find(0, set()) == []
    assert X[0, col] > 0


def test_unsupported_settings_are_refused() -> None:
    assert not WordNgrams.supports(TfidfVectorizer(analyzer="char").fit(CORPUS))
    assert not WordNgrams.supports(TfidfVectorizer(stop_words="english").fit(CORPUS))
    assert not WordNgrams.supports(TfidfVectorizer())  # not fitted
    with pytest.raises(ValueError):
        WordNgrams(TfidfVectorizer(ngram_range=(1, 3)).fit(CORPUS))


def test_locate_ngrams_on_length_changing_lowercase() -> None:
    text = "İstanbul office asked what we needed"
    occ = locate_ngrams(text, FAST.pattern, VECTORIZER.vocabulary_, bigrams=True)
    spans = {text[s:e] for _, s, e in occ}
    assert {"asked", "what we", "needed"} <= spans


@pytest.fixture(scope="module")
def tiny_classifier(tiny_bundle):  # type: ignore[no-untyped-def]
    from vocml.bundle import load_model

    return load_model(tiny_bundle)


def test_shipped_configuration_uses_the_direct_path(tiny_classifier: Classifier) -> None:
    assert tiny_classifier._fast_word is not None
    assert tiny_classifier._fast_scores is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TEXTS, min_size=1, max_size=4))
def test_probabilities_equal_the_pipeline(tiny_classifier: Classifier, texts: list[str]) -> None:
    expected = tiny_classifier.pipeline.predict_proba(as_texts(texts))
    np.testing.assert_allclose(tiny_classifier.predict_proba(texts), expected, rtol=1e-6, atol=1e-9)


def test_shipped_model_matches_its_pipeline(shipped_model: Classifier) -> None:
    texts = CORPUS + ["Great service, friendly staff.", "They never asked about our budget, just pushed the bundle."]
    expected = shipped_model.pipeline.predict_proba(texts)
    np.testing.assert_allclose(shipped_model.predict_proba(texts), expected, rtol=1e-6, atol=1e-9)


def test_linear_scores_refuse_other_calibrations(tiny_classifier: Classifier) -> None:
    class Fake:
        calibrated_classifiers_ = [type("C", (), {"method": "sigmoid"})()]
        classes_ = np.array(["a", "b", "c"])

    assert not LinearScores.supports(Fake())
    assert LinearScores.supports(tiny_classifier.pipeline.named_steps["clf"])


def test_blocks_sum_like_the_stacked_matrix(tiny_classifier: Classifier) -> None:
    X, _ = tiny_classifier.features(CORPUS)
    assert sp.issparse(X) and X.shape[0] == len(CORPUS)
    clf = tiny_classifier.pipeline.named_steps["clf"]
    np.testing.assert_allclose(tiny_classifier.predict_proba(CORPUS), clf.predict_proba(X), rtol=1e-6, atol=1e-9)


def test_other_word_settings_go_through_scikit_learn(tiny_records) -> None:  # type: ignore[no-untyped-def]
    """A pipeline the direct path does not reproduce (word 1-3 grams) still classifies, with valid evidence."""
    from vocml.model import build_pipeline

    pipeline = build_pipeline(
        {"features__word__ngram_range": (1, 3), "features__word__min_df": 1, "features__char__min_df": 1, "clf__cv": 3}
    )
    pipeline.fit([r.text for r in tiny_records], [r.label for r in tiny_records])
    model = Classifier(pipeline)
    assert model._fast_word is None
    texts = [r.text for r in tiny_records[:6]]
    np.testing.assert_allclose(model.predict_proba(texts), pipeline.predict_proba(texts), rtol=1e-6, atol=1e-9)
    for text, pred in zip(texts, model.classify(texts), strict=True):
        for ev in pred.evidence:
            assert text[ev.start : ev.end] == ev.phrase
