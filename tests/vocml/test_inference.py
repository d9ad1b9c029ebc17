"""The direct arithmetic of vocml.inference gives the fitted pipeline's numbers, on any text."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from tests.strategies import SAFE_CHARACTERS
from vocml import inference
from vocml.features import WORD_TOKEN_PATTERN, WordCharVectorizer, as_texts
from vocml.inference import CompiledModel, LinearScores, NgramFeatures, locate_ngrams
from vocml.model import Classifier
from vocml.text import ChunkTokenizer, get_tokenizer

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
    st.text(SAFE_CHARACTERS, max_size=200),
)


def _word_vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(
        ngram_range=(1, 2), min_df=1, sublinear_tf=True, token_pattern=WORD_TOKEN_PATTERN, dtype=np.float32
    ).fit(CORPUS)


VECTORIZER = _word_vectorizer()
CHAR = WordCharVectorizer(min_df=1, max_features=None).fit(CORPUS)
PATTERN = re.compile(WORD_TOKEN_PATTERN)


def _occurrences(text: str) -> list[str]:
    """The vocabulary n-grams of ``text``, one entry per occurrence (what the vectorizer counts)."""
    tokens = PATTERN.findall(text.lower())
    grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]
    return sorted(g for g in grams if g in VECTORIZER.vocabulary_)


def _assert_equal_to_vectorizers(fast: NgramFeatures, texts: list[str]) -> None:
    word, char, spans, batch_doc = fast.transform(texts)
    np.testing.assert_allclose(word.toarray(), VECTORIZER.transform(texts).toarray(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(char.toarray(), CHAR.transform(texts).toarray(), rtol=1e-6, atol=1e-7)
    # Ask where every n-gram of every text occurs (weight = column, to tell them apart).
    rows, cols = word.nonzero()
    found = spans.find(rows, cols, cols.astype(float))
    names = VECTORIZER.get_feature_names_out()
    for text, occurrences in zip(texts, found, strict=True):
        located = []
        for col, start, end in occurrences:
            # each occurrence spans the n-gram's tokens in the original text
            assert " ".join(t.lower() for t in PATTERN.findall(text[start:end])) == names[int(col)]
            located.append(names[int(col)])
        assert sorted(located) == _occurrences(text), text
    if fast.tokenizer is not None:  # the batch Doc is the one the chunk tokenizer builds
        assert batch_doc is not None
        doc, bounds = batch_doc
        expected, expected_bounds = ChunkTokenizer(get_tokenizer()).batch(texts)
        assert bounds == expected_bounds
        assert [(t.text, t.whitespace_) for t in doc] == [(t.text, t.whitespace_) for t in expected]


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXTS, min_size=1, max_size=5))
def test_ngram_features_equal_the_vectorizers(texts: list[str]) -> None:
    fast = NgramFeatures.from_vectorizers(VECTORIZER, CHAR, get_tokenizer())
    _assert_equal_to_vectorizers(fast, texts)
    _assert_equal_to_vectorizers(fast, texts[::-1] + CORPUS)  # chunks already analysed, others new
    _assert_equal_to_vectorizers(NgramFeatures.from_vectorizers(VECTORIZER, CHAR), texts)  # no tokenizer: no Doc


def test_irregular_whitespace_keeps_offsets() -> None:
    fast = NgramFeatures.from_vectorizers(VECTORIZER, CHAR, get_tokenizer())
    texts = ["  Invoice 22\tis   wrong.\n\nInvoice 23 is wrong too! ", "asked what\u00a0we needed", "\n", ""]
    _assert_equal_to_vectorizers(fast, texts)


def test_every_occurrence_is_located() -> None:
    fast = NgramFeatures.from_vectorizers(VECTORIZER, CHAR)
    word, _, spans, _ = fast.transform(["Invoice 22 is wrong. Invoice 23 is wrong too!"])
    col = VECTORIZER.vocabulary_["invoice"]
    bigram = VECTORIZER.vocabulary_["is wrong"]
    found = spans.find(np.array([0, 0]), np.array([col, bigram]), np.array([1.0, 2.0]))
    assert sorted(found[0]) == [(1.0, 0, 7), (1.0, 21, 28), (2.0, 11, 19), (2.0, 32, 40)]
    assert spans.find(np.array([], dtype=int), np.array([], dtype=int), np.array([])) == [[]]
    assert word[0, col] > 0


def test_the_chunk_table_starts_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inference, "MAX_CHUNKS", 5)
    fast = NgramFeatures.from_vectorizers(VECTORIZER, CHAR, get_tokenizer())
    for _ in range(3):
        _assert_equal_to_vectorizers(fast, CORPUS)
        assert len(fast) <= 5 + max(len(t.split()) for t in CORPUS) * len(CORPUS)
    assert len(fast) < sum(len(t.split()) for t in CORPUS)


def test_unsupported_settings_are_refused() -> None:
    assert not NgramFeatures.supports(TfidfVectorizer(analyzer="char").fit(CORPUS), CHAR)
    assert not NgramFeatures.supports(TfidfVectorizer(stop_words="english").fit(CORPUS), CHAR)
    assert not NgramFeatures.supports(TfidfVectorizer(), CHAR)  # not fitted
    assert not NgramFeatures.supports(VECTORIZER, "drop")
    with pytest.raises(ValueError):
        NgramFeatures.from_vectorizers(TfidfVectorizer(ngram_range=(1, 3)).fit(CORPUS), CHAR)


def test_locate_ngrams_on_length_changing_lowercase() -> None:
    text = "İstanbul office asked what we needed"
    occ = locate_ngrams(text, PATTERN, VECTORIZER.vocabulary_, bigrams=True)
    spans = {text[s:e] for _, s, e in occ}
    assert {"asked", "what we", "needed"} <= spans


@pytest.fixture(scope="module")
def tiny_classifier(tiny_bundle):  # type: ignore[no-untyped-def]
    from vocml.bundle import load_model

    return load_model(tiny_bundle)


def test_shipped_configuration_uses_the_direct_path(tiny_classifier: Classifier) -> None:
    assert tiny_classifier._ngrams is not None
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
    assert model._ngrams is None
    texts = [r.text for r in tiny_records[:6]]
    np.testing.assert_allclose(model.predict_proba(texts), pipeline.predict_proba(texts), rtol=1e-6, atol=1e-9)
    for text, pred in zip(texts, model.classify(texts), strict=True):
        for ev in pred.evidence:
            assert text[ev.start : ev.end] == ev.phrase


def test_a_compiled_model_round_trips_and_predicts_like_its_pipeline(tiny_classifier: Classifier, tmp_path) -> None:  # type: ignore[no-untyped-def]
    compiled = CompiledModel.from_pipeline(tiny_classifier.pipeline)
    assert compiled is not None
    path = tmp_path / "inference.npz"
    compiled.save(path)
    first = path.read_bytes()
    compiled.save(path)
    assert path.read_bytes() == first  # the same model always gives the same bytes
    loaded = CompiledModel.load(path)
    assert loaded.labels == compiled.labels and loaded.word.vocabulary == compiled.word.vocabulary
    assert loaded.char.vocabulary == compiled.char.vocabulary and loaded.word.dtype == compiled.word.dtype
    model = Classifier(compiled=loaded, load_pipeline=lambda: tiny_classifier.pipeline)
    np.testing.assert_allclose(
        model.predict_proba(CORPUS), tiny_classifier.pipeline.predict_proba(CORPUS), rtol=1e-6, atol=1e-9
    )
    assert [p.to_dict() for p in model.classify(CORPUS)] == [p.to_dict() for p in tiny_classifier.classify(CORPUS)]


def test_other_configurations_do_not_compile(tiny_records) -> None:  # type: ignore[no-untyped-def]
    from vocml.model import build_pipeline

    pipeline = build_pipeline({"features__char": "drop", "clf__cv": 3})
    pipeline.fit([r.text for r in tiny_records], [r.label for r in tiny_records])
    assert CompiledModel.from_pipeline(pipeline) is None
    model = Classifier(pipeline)
    assert model.compiled is None
    np.testing.assert_allclose(model.predict_proba(CORPUS), pipeline.predict_proba(CORPUS), rtol=1e-6, atol=1e-9)


def test_classifying_with_the_shipped_model_imports_no_scikit_learn() -> None:
    """The compiled numbers are all prediction needs: `vocml classify` starts without scikit-learn."""
    import subprocess
    import sys

    code = (
        "import sys; from vocml import load_model; m = load_model(); "
        "p = m.classify(['Nobody asked what we needed.'])[0]; "
        "print(p.label, 'sklearn' in sys.modules, 'joblib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["pitch_first", "False", "False"]


def test_a_model_on_some_of_the_cues_compiles_and_reports_only_those(tiny_records) -> None:  # type: ignore[no-untyped-def]
    from vocml.model import build_pipeline

    pipeline = build_pipeline(
        {"features__cues__cues": ["price_push", "discovery_question"], "features__char__min_df": 1, "clf__cv": 3}
    )
    pipeline.fit([r.text for r in tiny_records], [r.label for r in tiny_records])
    model = Classifier(pipeline)
    assert model.compiled is not None and model.compiled.cue_names == ["price_push", "discovery_question"]
    texts = ["Nobody asked what we needed, just a 20% discount.", "Asked how they schedule crews."]
    np.testing.assert_allclose(model.predict_proba(texts), pipeline.predict_proba(texts), rtol=1e-6, atol=1e-9)
    for pred in model.classify(texts):
        assert set(pred.cues) <= {"price_push", "discovery_question"}
