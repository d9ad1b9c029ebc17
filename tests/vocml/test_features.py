"""The scikit-learn estimator contract for every transformer of ours (check_estimator rejects text input)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from vocml.features import CueVectorizer, WordCharVectorizer, build_features

TEXTS = [
    "Nobody asked what we needed; 20% off if we sign today.",
    "Asked how they schedule crews and what a missed job costs.",
    "Invoice 22 is wrong.",
    "Demoed every module, EOQ pressure.",
    "She listened and talked us out of the upgrade.",
    "Delivery was late.",
]
LABELS = ["pitch_first", "needs_first", "no_signal"] * 2


def _transformers() -> list[object]:
    union = build_features()
    union.set_params(word__min_df=1, char__min_df=1)
    return [
        CueVectorizer(),
        CueVectorizer(cues=["price_push", "discovery_question"]),
        WordCharVectorizer(min_df=1),
        union,
    ]


N = 4


@pytest.mark.parametrize("make", range(N))
def test_clone_keeps_params(make: int) -> None:
    est = _transformers()[make]

    def plain(params: dict) -> dict:
        return {k: v for k, v in params.items() if not hasattr(v, "get_params") and k != "transformer_list"}

    assert plain(clone(est).get_params()) == plain(est.get_params())


@pytest.mark.parametrize("make", range(N))
def test_fit_returns_self_and_fitting_twice_equals_once(make: int) -> None:
    est = _transformers()[make]
    assert est.fit(TEXTS) is est
    once = est.transform(TEXTS).toarray()
    twice = est.fit(TEXTS).transform(TEXTS).toarray()
    np.testing.assert_array_equal(once, twice)


@pytest.mark.parametrize("make", range(N))
def test_not_fitted_error_before_fit(make: int) -> None:
    with pytest.raises(NotFittedError):
        _transformers()[make].transform(TEXTS)


@pytest.mark.parametrize("make", range(N))
def test_pickle_round_trip_gives_identical_transform(make: int) -> None:
    est = _transformers()[make].fit(TEXTS)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est.transform(TEXTS).toarray(), again.transform(TEXTS).toarray())


@pytest.mark.parametrize("make", range(N))
def test_feature_names_match_columns(make: int) -> None:
    est = _transformers()[make].fit(TEXTS)
    assert len(est.get_feature_names_out()) == est.transform(TEXTS).shape[1]


@pytest.mark.parametrize("make", range(N))
def test_transform_does_not_mutate_input(make: int) -> None:
    est = _transformers()[make].fit(TEXTS)
    texts = list(TEXTS)
    est.transform(texts)
    assert texts == TEXTS


def test_set_params_round_trip() -> None:
    est = CueVectorizer()
    est.set_params(cues=["price_push"], lang="en")
    assert est.get_params() == {"cues": ["price_push"], "lang": "en"}


def test_works_inside_pipeline_and_grid_search() -> None:
    pipe = Pipeline([("cues", CueVectorizer()), ("clf", LogisticRegression())])
    grid = GridSearchCV(pipe, {"clf__C": [0.1, 1.0]}, cv=2).fit(TEXTS, LABELS)
    assert grid.best_estimator_.predict(TEXTS).shape == (6,)


def test_accepts_pandas_series() -> None:
    pd = pytest.importorskip("pandas")
    est = CueVectorizer().fit(TEXTS)
    np.testing.assert_array_equal(est.transform(pd.Series(TEXTS)).toarray(), est.transform(TEXTS).toarray())


def test_unknown_cue_fails_in_fit_not_init() -> None:
    est = CueVectorizer(cues=["nope"])
    with pytest.raises(ValueError, match="unknown cue"):
        est.fit(TEXTS)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=5))
def test_word_char_vectorizer_equals_sklearn_char_wb(texts: list[str]) -> None:
    fitted = WordCharVectorizer(min_df=1, max_features=None).fit(TEXTS + texts)
    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=1, sublinear_tf=True, dtype=np.float32)
    reference.fit(TEXTS + texts)
    many = texts + TEXTS * 2
    assert abs(fitted.transform(many) - reference.transform(many)).max() < 1e-6
    # again, with a warm memo
    assert abs(fitted.transform(texts) - reference.transform(texts)).max() < 1e-6
    for text in texts:
        assert abs(fitted.transform([text]) - reference.transform([text])).max() < 1e-6
