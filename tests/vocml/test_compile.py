"""A fitted pipeline compiles to numbers that predict exactly as it does; settings without a
compiled form are refused before any training, naming the setting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import MaxAbsScaler

from tests.ngram_oracle import CORPUS, LONG, TEXTS, pipeline_proba
from vocml.compile import compile_pipeline
from vocml.errors import ConfigError, NotTrainedError
from vocml.features import as_texts
from vocml.model import Classifier, build_pipeline


@pytest.fixture(scope="module")
def tiny_classifier(tiny_bundle):  # type: ignore[no-untyped-def]
    from vocml.bundle import load_model

    return load_model(tiny_bundle)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TEXTS, min_size=1, max_size=4))
def test_probabilities_equal_the_pipeline(tiny_classifier: Classifier, texts: list[str]) -> None:
    expected = pipeline_proba(tiny_classifier.pipeline, as_texts(texts))
    np.testing.assert_allclose(tiny_classifier.predict_proba(texts), expected, rtol=1e-6, atol=1e-9)


def test_shipped_model_matches_its_pipeline(shipped_model: Classifier) -> None:
    texts = CORPUS + [
        LONG,
        "Great service, friendly staff.",
        "They never asked about our budget, just pushed the bundle.",
    ]
    expected = pipeline_proba(shipped_model.pipeline, texts)
    np.testing.assert_allclose(shipped_model.predict_proba(texts), expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"features__word__ngram_range": (1, 3)}, "features__word__ngram_range"),
        ({"features__char": "drop"}, "word, char and cues"),
        ({"features__word__stop_words": "english"}, "stop_words"),
        ({"clf__method": "sigmoid"}, "clf__method"),
        ({"scale": MaxAbsScaler()}, "LabelRatioScaler"),
    ],
)
def test_settings_without_a_compiled_form_are_refused_before_training(params: dict, named: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=named):
        build_pipeline(params)


def test_the_label_ratio_scaling_is_folded_into_the_coefficients(tiny_records) -> None:  # type: ignore[no-untyped-def]
    texts, labels = [r.text for r in tiny_records], [r.label for r in tiny_records]
    plain = build_pipeline({"scale": "passthrough", "features__char__min_df": 1, "clf__cv": 3}).fit(texts, labels)
    scaled = build_pipeline({"features__char__min_df": 1, "clf__cv": 3}).fit(texts, labels)
    scale = scaled.named_steps["scale"].scale_
    assert scale.std() > 0  # the columns are scaled by default
    coef = scaled.named_steps["clf"].calibrated_classifiers_[0].estimator.coef_
    np.testing.assert_allclose(compile_pipeline(scaled).coef, coef * scale)
    unscaled = plain.named_steps["clf"].calibrated_classifiers_[0].estimator.coef_
    np.testing.assert_allclose(compile_pipeline(plain).coef, unscaled)  # 'passthrough': as fitted
    for pipeline in (plain, scaled):
        sample = [*CORPUS[:3], LONG]
        np.testing.assert_allclose(
            Classifier(pipeline).predict_proba(sample), pipeline_proba(pipeline, sample), rtol=1e-6, atol=1e-9
        )


def test_an_unfitted_pipeline_does_not_compile() -> None:
    with pytest.raises(NotTrainedError, match="vocml train"):
        compile_pipeline(build_pipeline())
    with pytest.raises(NotTrainedError):
        Classifier(build_pipeline())


def test_a_model_on_some_of_the_cues_compiles_and_reports_only_those(tiny_records) -> None:  # type: ignore[no-untyped-def]
    pipeline = build_pipeline(
        {"features__cues__cues": ["price_push", "discovery_question"], "features__char__min_df": 1, "clf__cv": 3}
    )
    pipeline.fit([r.text for r in tiny_records], [r.label for r in tiny_records])
    model = Classifier(pipeline)
    assert model.compiled.cue_names == ["price_push", "discovery_question"]
    texts = ["Nobody asked what we needed, just a 20% discount.", "Asked how they schedule crews.", LONG]
    np.testing.assert_allclose(model.predict_proba(texts), pipeline_proba(pipeline, texts), rtol=1e-6, atol=1e-9)
    for pred in model.classify(texts):
        assert set(pred.cues) <= {"price_push", "discovery_question"}
