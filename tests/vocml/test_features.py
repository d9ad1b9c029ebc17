"""The scikit-learn estimator contract for every transformer of ours (check_estimator rejects text input)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from vocml.features import CueVectorizer, LabelRatioScaler, WordCharVectorizer, build_features

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


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array-API checks: not set up here
def test_label_ratio_scaler_meets_the_estimator_contract() -> None:
    from sklearn.utils.estimator_checks import check_estimator

    failed = [r["check_name"] for r in check_estimator(LabelRatioScaler(), on_fail=None) if r["status"] == "failed"]
    assert failed == []


def test_label_ratio_scaler_weighs_a_column_by_how_unevenly_it_falls_across_labels() -> None:
    # column 0 in every row; column 1 only in the pitch-first rows; column 2 in two rows
    X = sp.csr_matrix(np.array([[1, 1, 0], [2, 1, 0], [1, 0, 3], [1, 0, 0], [1, 0, 1], [1, 0, 0]], dtype=float))
    y = ["pitch_first", "pitch_first", "needs_first", "needs_first", "no_signal", "no_signal"]
    scale = LabelRatioScaler(beta=1.0).fit(X, y).scale_
    assert scale[1] > 3 * scale[0]  # one label's column counts more than a column every label has

    def by_hand(weights: list[float]) -> list[float]:  # the definition, one column and label at a time
        present = X.toarray() != 0
        out = []
        for col in range(3):
            ratios = []
            for label in set(y):
                mine = [i for i, lab in enumerate(y) if lab == label]
                rest = [i for i in range(6) if i not in mine]
                p = [1 + sum(weights[i] * present[i, c] for i in mine) for c in range(3)]
                q = [1 + sum(weights[i] * present[i, c] for i in rest) for c in range(3)]
                ratios.append(abs(np.log(p[col] / sum(p)) - np.log(q[col] / sum(q))))
            out.append(max(ratios))
        return out

    np.testing.assert_allclose(scale, by_hand([1.0] * 6))
    assert np.all(LabelRatioScaler(beta=0.0).fit(X, y).scale_ == 1.0)  # beta 0: every column as it is
    half = LabelRatioScaler(beta=0.5).fit(X, y)
    np.testing.assert_allclose(half.scale_, np.sqrt(scale))
    np.testing.assert_allclose(half.transform(X).toarray(), X.toarray() * np.sqrt(scale))
    # rows' weights count as the model's sample weights do: a row of weight 0 counts for nothing
    weights = [1.0, 0.0, 1.0, 2.0, 1.0, 1.0]
    weighted = LabelRatioScaler(beta=1.0).fit(X, y, sample_weight=weights).scale_
    np.testing.assert_allclose(weighted, by_hand(weights))
    assert not np.allclose(weighted, scale)


def test_label_ratio_scaler_refuses_a_negative_power() -> None:
    with pytest.raises(ValueError, match="beta >= 0"):
        LabelRatioScaler(beta=-1.0).fit(sp.csr_matrix(np.eye(3)), ["a", "b", "c"])
