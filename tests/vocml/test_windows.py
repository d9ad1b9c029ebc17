"""Sentence windows: a long text is scored as a whole and sentence by sentence, and the batch arithmetic
gives each sentence exactly what scoring its own text would."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ngram_oracle import CHAR, CORPUS, LONG, VECTORIZER, ngram_features, pipeline_proba
from vocml.model import Classifier
from vocml.text import get_tokenizer
from vocml.windows import EVIDENCE_SENTENCES, MIN_SENTENCES, cue_rows, evidence_windows, mix, windows_of

TOKENIZER = get_tokenizer("en")
SENTENCES = st.sampled_from(
    [
        *CORPUS,
        "Great service.",
        "e.g. the manager never asked.",
        "Really?",
        "Wow!!",
        "No.",
        "They were great...",
        "U.S. prices, 20% off today",
    ]
)
SEPARATORS = st.sampled_from([" ", "  ", "\n", " \n\n ", "\t"])


@st.composite
def long_texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(SENTENCES, min_size=1, max_size=7))
    out = parts[0]
    for part in parts[1:]:
        out += draw(SEPARATORS) + part
    return draw(st.sampled_from(["", " ", "\n"])) + out


def test_a_text_of_three_sentences_or_more_is_split_into_its_sentences() -> None:
    spans = windows_of(LONG, TOKENIZER)
    assert [LONG[a:b] for a, b in spans] == [
        "We went in for a new sofa.",
        "The store was big and bright.",
        "Parking was easy.",
        "Nobody asked what we needed; 20% off if we sign today!",
        "Delivery was late.",
    ]
    assert windows_of("Too short. Two sentences.", TOKENIZER) == []  # scored as a whole only
    assert MIN_SENTENCES == 3


def test_an_abbreviation_or_an_ellipsis_does_not_end_a_sentence() -> None:
    text = "We asked e.g. about fees. They were great... Really? Then they pushed hard."
    assert [text[a:b] for a, b in windows_of(text, TOKENIZER)] == [
        "We asked e.g. about fees.",
        "They were great... Really?",
        "Then they pushed hard.",
    ]


@settings(max_examples=80, deadline=None)
@given(st.lists(long_texts(), min_size=1, max_size=5))
def test_window_blocks_equal_the_vectorizers_on_each_sentence(texts: list[str]) -> None:
    batch = ngram_features(TOKENIZER).transform(texts, windows=True)
    assert batch.windows is not None
    expected = [(i, a, b) for i, t in enumerate(texts) for a, b in windows_of(t, TOKENIZER)]
    got = list(zip(batch.windows.owner.tolist(), batch.windows.start.tolist(), batch.windows.end.tolist(), strict=True))
    assert got == expected
    sentences = [texts[i][a:b] for i, a, b in expected] or [""]
    if expected:
        word, char = batch.windows.word, batch.windows.char
        np.testing.assert_allclose(word.toarray(), VECTORIZER.transform(sentences).toarray(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(char.toarray(), CHAR.transform(sentences).toarray(), rtol=1e-6, atol=1e-7)


def test_mixing_takes_the_most_signal_like_sentence_and_leaves_short_texts_alone() -> None:
    labels = ["needs_first", "no_signal", "pitch_first"]
    z = np.array([[0.0, 2.0, 0.0], [0.0, 2.0, 0.0]])
    windows = np.array([[0.0, 3.0, 0.0], [0.0, 0.0, 4.0], [1.0, 1.0, 0.0]])  # text 0: three sentences
    out = mix(z, windows, np.array([0, 0, 0]), 0.5, labels.index("no_signal"))
    np.testing.assert_allclose(out[0], [0.0, 1.0, 2.0])  # halfway to the pushy sentence
    np.testing.assert_allclose(out[1], z[1])  # no windows: its own scores
    np.testing.assert_allclose(mix(z, windows, np.array([0, 0, 0]), 0.0, 1), z)


def test_cue_hits_are_placed_in_the_sentence_that_holds_them() -> None:
    hits = [{"price_push": [(5, 10), (30, 42)], "discovery_question": [(18, 25)]}, {"price_push": [(0, 3)]}]
    columns = {"price_push": 0, "discovery_question": 1}
    owner, start, end = np.array([0, 0, 0]), np.array([0, 12, 28]), np.array([11, 27, 45])
    w, c = cue_rows(hits, columns, owner, start, end)
    assert sorted(zip(w.tolist(), c.tolist(), strict=True)) == [(0, 0), (1, 1), (2, 0)]
    # a hit across two sentences belongs to neither
    w, c = cue_rows([{"price_push": [(8, 14)]}], columns, np.array([0, 0]), np.array([0, 12]), np.array([11, 27]))
    assert len(w) == 0


@pytest.fixture(scope="module")
def tiny_classifier(tiny_bundle):  # type: ignore[no-untyped-def]
    from vocml.bundle import load_model

    return load_model(tiny_bundle)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(long_texts(), min_size=1, max_size=4))
def test_long_texts_are_scored_like_the_pipeline_on_the_text_and_its_sentences(
    tiny_classifier: Classifier, texts: list[str]
) -> None:
    assert tiny_classifier.window_weight > 0
    expected = pipeline_proba(tiny_classifier.pipeline, texts)
    np.testing.assert_allclose(tiny_classifier.predict_proba(texts), expected, rtol=1e-6, atol=1e-9)


def test_one_pushy_sentence_in_a_long_review_moves_the_scores_toward_it(tiny_classifier: Classifier) -> None:
    pipeline = tiny_classifier.pipeline
    whole = pipeline.named_steps["clf"].predict_proba(pipeline[:-1].transform([LONG]))[0]
    with_windows = tiny_classifier.predict_proba([LONG])[0]
    pitch = tiny_classifier.labels.index("pitch_first")
    assert with_windows[pitch] > whole[pitch]
    assert sp.issparse(tiny_classifier.features([LONG])[0])  # the text's own features are unchanged


def test_a_long_review_with_one_pushy_sentence_is_pitch_first_and_shows_that_sentences_words(
    shipped_model: Classifier,
) -> None:
    pushy = "The salesman kept pushing the most expensive bed and said the sale price ended today."
    text = (
        "We went in for a new mattress last weekend. The shop is on Main Street near the bank. "
        f"{pushy} Parking was easy. We left after ten minutes."
    )
    prediction = shipped_model.classify([text])[0]
    assert prediction.label == "pitch_first"
    start = text.index(pushy)
    assert prediction.evidence
    assert all(start <= e.start and e.end <= start + len(pushy) for e in prediction.evidence)


def test_evidence_comes_from_the_sentences_leaning_most_toward_the_label() -> None:
    # columns: needs_first, no_signal, pitch_first; text 0 labelled pitch-first, text 1 needs-first
    zw = np.array(
        [
            [0.0, 1.0, 0.5],  # text 0: leans to no_signal
            [0.0, 0.0, 2.0],  # text 0: the most pitch-like
            [0.0, 0.0, 1.0],  # text 0: pitch-like too
            [0.0, 0.0, 0.5],  # text 0: pitch-like, third
            [0.0, 1.0, 0.0],  # text 1: no sentence leans to needs-first: its least unlike one is kept
            [-2.0, 1.0, 0.0],
            [0.5, 1.0, 3.0],  # text 1: pitch-like, but the label is needs-first
        ]
    )
    owner = np.array([0, 0, 0, 0, 1, 1, 1])
    chosen = evidence_windows(zw, owner, np.array([2, 0]), no_signal=1)
    assert EVIDENCE_SENTENCES == 2
    assert chosen.tolist() == [1, 2, 6]


def test_a_long_review_with_two_pushy_sentences_shows_words_of_those_only(shipped_model: Classifier) -> None:
    first = "The salesman kept pushing the most expensive bed and said the sale price ended today."
    second = "Then the manager pushed the $300 warranty and said the price was only good if we signed today."
    text = (
        "We went in for a new mattress last weekend. The shop is on Main Street near the bank. "
        f"{first} Parking was easy. {second} We left after ten minutes. The bed was $1,200 when we signed."
    )
    prediction = shipped_model.classify([text])[0]
    assert prediction.label == "pitch_first" and prediction.evidence
    places = [(text.index(s), text.index(s) + len(s)) for s in (first, second)]
    assert all(any(a <= e.start and e.end <= b for a, b in places) for e in prediction.evidence)
