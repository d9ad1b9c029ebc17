"""From a fitted scikit-learn pipeline (the training-time object) to its :class:`CompiledModel`,
the numbers every prediction is made from.

Only the configuration :func:`vocml.model.build_pipeline` makes, within the settings below, has a
compiled form; :func:`check_pipeline` says which setting is outside it before any training is done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from vocml.compiled import CompiledModel
from vocml.errors import ConfigError, NotTrainedError
from vocml.features import CueVectorizer, LabelRatioScaler, WordCharVectorizer
from vocml.ngrams import NgramBlock

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


def check_pipeline(pipeline: Pipeline) -> None:
    """Raise :class:`~vocml.errors.ConfigError` naming the first setting of ``pipeline`` (fitted or
    not) that has no compiled form."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    union, clf = pipeline.named_steps["features"], pipeline.named_steps["clf"]
    named = {name: t for name, t in union.transformer_list if t not in ("drop", None)}
    if sorted(named) != ["char", "cues", "word"]:
        raise ConfigError(f"the model needs the word, char and cues features; got {', '.join(sorted(named)) or 'none'}")
    if getattr(union, "transformer_weights", None):
        raise ConfigError("features__transformer_weights is not supported; leave it unset")
    word, char = named["word"], named["char"]
    scaler = pipeline.named_steps.get("scale")  # absent in models before 0.13.0
    problems = {
        "features__word must be a TfidfVectorizer": not isinstance(word, TfidfVectorizer),
        "features__word__analyzer must be 'word'": getattr(word, "analyzer", None) != "word",
        "features__word__lowercase must be True": not getattr(word, "lowercase", False),
        "features__word preprocessor, tokenizer, strip_accents and stop_words must be unset": any(
            getattr(word, a, None) is not None for a in ("preprocessor", "tokenizer", "strip_accents", "stop_words")
        ),
        "features__word__ngram_range must be (1, 1) or (1, 2)": tuple(getattr(word, "ngram_range", ()))
        not in ((1, 1), (1, 2)),
        "features__word__norm must be 'l2'": getattr(word, "norm", None) != "l2",
        "features__word__use_idf must be True": not getattr(word, "use_idf", False),
        "features__word__binary must be False": bool(getattr(word, "binary", True)),
        "features__char must be a WordCharVectorizer": not isinstance(char, WordCharVectorizer),
        "features__cues must be a CueVectorizer": not isinstance(named["cues"], CueVectorizer),
        "scale must be a LabelRatioScaler or 'passthrough'": scaler not in (None, "passthrough")
        and not isinstance(scaler, LabelRatioScaler),
        "clf__method must be 'temperature'": getattr(clf, "method", None) != "temperature",
        "clf__ensemble must be False": getattr(clf, "ensemble", True) is not False,
    }
    for message, failed in problems.items():
        if failed:
            raise ConfigError(f"{message}: predictions are made from the compiled model, which has no other form")


def compile_pipeline(pipeline: Pipeline) -> CompiledModel:
    """The fitted numbers of ``pipeline``.

    Raises:
        ConfigError: for a configuration without a compiled form (see :func:`check_pipeline`), or
            fewer than three labels.
    """
    check_pipeline(pipeline)
    union, clf = pipeline.named_steps["features"], pipeline.named_steps["clf"]
    parts = [(name, t) for name, t in union.transformer_list if t not in ("drop", None)]
    named: dict[str, Any] = dict(parts)
    inners = getattr(clf, "calibrated_classifiers_", None)
    if not inners or not hasattr(named["word"], "idf_") or not hasattr(named["char"], "idf_"):
        raise NotTrainedError("the pipeline is not fitted; train it with `vocml train` first")
    inner = inners[0]
    coef = np.asarray(inner.estimator.coef_, dtype=np.float64)
    scaler = pipeline.named_steps.get("scale")
    if isinstance(scaler, LabelRatioScaler):  # scaled columns times coefficients = columns times scaled coefficients
        coef = coef * scaler.scale_
    if len(inners) != 1 or coef.shape[0] != len(clf.classes_) or len(clf.classes_) < 3:
        raise ConfigError(f"the model needs one calibrated classifier over three labels; got {list(clf.classes_)}")
    char = named["char"]
    return CompiledModel(
        labels=[str(c) for c in clf.classes_],
        parts=[name for name, _ in parts],
        word=NgramBlock.of(named["word"]),
        char=NgramBlock.of(char.vectorizer_, idf=char.idf_, dtype=char.dtype),
        cue_names=list(named["cues"].cue_names_),
        lang=named["cues"].lang,
        coef=coef,
        intercept=np.asarray(inner.estimator.intercept_, dtype=np.float64),
        beta=float(inner.calibrators[0].beta_),
        window_weight=float(getattr(pipeline, "window_weight_", 0.0)),  # set by vocml.train.train
        source_offsets={k: list(v) for k, v in getattr(pipeline, "source_offsets_", {}).items()},  # vocml.train
    )
