"""The classifier: one scikit-learn Pipeline with calibrated probabilities, plus predictions with evidence.

``build_pipeline()`` returns the unfitted pipeline; :class:`Classifier` wraps a fitted one with its
model card and turns texts into :class:`Prediction` objects (label, confidence, all scores, the cues
that fired and the phrases that pushed toward the label, with character offsets).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from vocml.data import LABELS, Record
from vocml.errors import ConfigError, NotTrainedError
from vocml.features import CueVectorizer, as_texts, build_features
from vocml.cues import match_batch
from vocml.inference import LinearScores, LocatedSpans, NgramFeatures, NgramSpans
from vocml.text import get_tokenizer

if TYPE_CHECKING:
    from vocml.bundle import ModelCard

DEFAULT_PARAMS: dict[str, Any] = {
    "clf__estimator__C": 16.0,
    "clf__estimator__class_weight": "balanced",
    "clf__method": "temperature",
    "clf__cv": 5,
}
DEFAULT_THRESHOLD = 0.6
MAX_EVIDENCE = 6
MIN_EVIDENCE_WEIGHT = 0.05


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Return the unfitted pipeline: features -> calibrated logistic regression.

    Args:
        params: overrides in scikit-learn's ``step__param`` names (e.g. ``clf__estimator__C``).

    Raises:
        ConfigError: naming an unknown parameter.
    """
    pipeline = Pipeline(
        [
            ("features", build_features()),
            (
                "clf",
                CalibratedClassifierCV(
                    LogisticRegression(max_iter=3000, random_state=0),
                    ensemble=False,
                ),
            ),
        ]
    )
    merged = {**DEFAULT_PARAMS, **(params or {})}
    valid = pipeline.get_params(deep=True)
    unknown = [k for k in merged if k not in valid]
    if unknown:
        raise ConfigError(
            f"unknown pipeline parameter(s) {', '.join(unknown)}; use scikit-learn names such as "
            "clf__estimator__C or features__word__ngram_range"
        )
    pipeline.set_params(**merged)
    return pipeline


@dataclass(frozen=True, slots=True)
class Evidence:
    """A phrase that pushed toward the predicted label: ``text[start:end] == phrase``."""

    phrase: str
    start: int
    end: int
    weight: float


@dataclass(frozen=True, slots=True)
class Prediction:
    """One text's prediction, with the fields every interface (CLI, REST, spaCy) shares."""

    id: str | None
    label: str
    confidence: float
    scores: dict[str, float]
    uncertain: bool
    cues: list[str]
    evidence: list[Evidence] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (written out by hand: ``dataclasses.asdict`` deep-copies and is slow)."""
        return {
            "id": self.id,
            "label": self.label,
            "confidence": self.confidence,
            "scores": dict(self.scores),
            "uncertain": self.uncertain,
            "cues": list(self.cues),
            "evidence": [
                {"phrase": e.phrase, "start": e.start, "end": e.end, "weight": e.weight} for e in self.evidence
            ],
        }


class Classifier:
    """A fitted pipeline with its model card; the object ``load_model()`` returns.

    Args:
        pipeline: a fitted pipeline from :func:`build_pipeline`.
        card: the model card, or ``None`` for an unsaved model.
        threshold: predictions with confidence below this are marked ``uncertain``.
    """

    def __init__(
        self, pipeline: Pipeline, card: ModelCard | None = None, *, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        if not hasattr(pipeline.named_steps["clf"], "classes_"):
            raise NotTrainedError("the pipeline is not fitted; train it with `vocml train` first")
        self.pipeline = pipeline
        self.card = card
        self.threshold = threshold
        self.labels: list[str] = [str(c) for c in pipeline.named_steps["clf"].classes_]
        union = pipeline.named_steps["features"]
        self._parts = [(n, t) for n, t in union.transformer_list if t not in ("drop", None)]
        self._word = dict(self._parts)["word"]
        self._word_block = [n for n, _ in self._parts].index("word")
        widths = [_width(t) for _, t in self._parts]
        # Offsets of each part's columns in the union's output.
        self._offsets = {name: int(o) for (name, _), o in zip(self._parts, np.cumsum([0, *widths[:-1]]), strict=True)}
        clf = pipeline.named_steps["clf"]
        # The fitted arithmetic without scikit-learn's per-call checks (see vocml.inference), when the
        # configuration is the one it reproduces; otherwise every step goes through scikit-learn.
        char = dict(self._parts).get("char")
        cues = dict(self._parts).get("cues")
        tokenizer = get_tokenizer(cues.lang) if isinstance(cues, CueVectorizer) else None
        self._ngrams = NgramFeatures(self._word, char, tokenizer) if NgramFeatures.supports(self._word, char) else None
        self._fast_scores = LinearScores(clf, widths) if LinearScores.supports(clf) else None
        self._token_pattern = re.compile(self._word.token_pattern)
        self._bigrams = tuple(self._word.ngram_range)[1] >= 2
        base = clf.calibrated_classifiers_[0].estimator
        coef = np.asarray(base.coef_, dtype=np.float64)
        if coef.shape[0] == 1:  # binary problem: sklearn stores one row
            coef = np.vstack([-coef[0], coef[0]])
        # How much each feature moves each label relative to the others.
        self._push = coef - coef.mean(axis=0, keepdims=True)
        word_lo = self._offsets["word"]
        self._word_push = np.ascontiguousarray(self._push[:, word_lo : word_lo + len(self._word.vocabulary_)])
        self._cue_names: list[str] = list(dict(self._parts)["cues"].cue_names_)
        cue_offset = self._offsets["cues"]
        # label index -> cue name -> how much that cue pushes toward the label (for evidence)
        self._cue_push: list[dict[str, float]] = [
            {name: float(row[cue_offset + i]) for i, name in enumerate(self._cue_names)} for row in self._push
        ]

    @property
    def version(self) -> str | None:
        """The model version from its card."""
        return self.card.version if self.card else None

    def _blocks(
        self, texts: list[str]
    ) -> tuple[list[sp.csr_matrix], list[dict[str, list[tuple[int, int]]]], NgramSpans | LocatedSpans]:
        """Each feature block, the cue hits and where the word n-grams occur (spaCy runs once)."""
        blocks = []
        hits: list[dict[str, list[tuple[int, int]]]] = []
        batch = self._ngrams.transform(texts) if self._ngrams is not None else None
        for name, transformer in self._parts:
            if isinstance(transformer, CueVectorizer):
                if batch is not None and batch.doc is not None:
                    hits = transformer.keep(match_batch(*batch.doc, transformer.lang))
                else:
                    hits = transformer.match(texts)
                blocks.append(transformer.transform_hits(hits))
            elif batch is not None and name in ("word", "char"):
                blocks.append(batch.word if name == "word" else batch.char)
            else:
                blocks.append(sp.csr_matrix(transformer.transform(texts)))
        if batch is not None:
            return blocks, hits, batch.spans
        return blocks, hits, LocatedSpans(texts, self._token_pattern, self._word.vocabulary_, bigrams=self._bigrams)

    def _proba(self, blocks: list[sp.csr_matrix]) -> np.ndarray:
        if self._fast_scores is not None:
            return self._fast_scores.predict_proba(blocks)
        return np.asarray(self.pipeline.named_steps["clf"].predict_proba(sp.hstack(blocks, format="csr")))

    def features(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, list[dict[str, list[tuple[int, int]]]]]:
        """The feature matrix (the union's columns) and the cue hits of each text."""
        blocks, hits, _ = self._blocks(as_texts(texts))
        return sp.hstack(blocks, format="csr"), hits

    def predict_proba(self, texts: Any) -> np.ndarray:
        """Calibrated probabilities, columns in ``self.labels`` order."""
        texts = as_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)))
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            return self._proba(self._blocks(texts)[0])

    def classify(
        self, items: Any, *, batch_size: int = 2000, ids: Sequence[str | None] | None = None
    ) -> list[Prediction]:
        """Classify texts, :class:`~vocml.data.Record` objects or dicts with ``text`` (and ``id``).

        A pandas Series of texts works too (its index becomes the ``id``). ``ids``, when given, are
        the predictions' ids instead (one per item).
        """
        texts, item_ids = _texts_and_ids(items)
        if ids is None:
            ids = item_ids
        elif len(ids) != len(texts):
            raise ValueError(f"got {len(ids)} ids for {len(texts)} items")
        else:
            ids = list(ids)
        out: list[Prediction] = []
        for lo in range(0, len(texts), batch_size):
            out.extend(self._classify_batch(texts[lo : lo + batch_size], ids[lo : lo + batch_size]))
        return out

    def _classify_batch(self, texts: list[str], ids: list[str | None]) -> list[Prediction]:
        if not texts:
            return []
        # Our own features are finite by construction and the estimators are fitted with validated
        # parameters: skipping sklearn's per-call checks halves the cost of classifying one text.
        with sklearn.config_context(assume_finite=True, skip_parameter_validation=True):
            blocks, hits, spans = self._blocks(texts)
            proba = self._proba(blocks)
        best = proba.argmax(axis=1)
        rows, cols, weights = self._top_word_features(blocks[self._word_block], best)
        word_evidence = spans.find(rows, cols, -weights)  # negated weights: strongest sorts first
        cue_push = self._cue_push
        labels = self.labels
        threshold = self.threshold
        out = []
        for i, (text, row, k) in enumerate(zip(texts, proba.tolist(), best.tolist(), strict=True)):
            push = cue_push[k]
            confidence = round(row[k], 6)  # "uncertain" follows the confidence the user sees
            candidates = word_evidence[i]
            for name, cue_spans in hits[i].items():
                if (w := push[name]) > 0:
                    candidates += [(-w, s, e) for s, e in cue_spans]
            out.append(
                Prediction(
                    id=ids[i],
                    label=labels[k],
                    confidence=confidence,
                    scores={lab: round(p, 6) for lab, p in zip(labels, row, strict=True)},
                    uncertain=confidence < threshold,
                    cues=sorted(hits[i]),
                    evidence=_evidence(text, candidates),
                )
            )
        return out

    def _top_word_features(self, W: sp.csr_matrix, best: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's strongest word n-grams toward its predicted label: rows, columns and weights.

        The weight of a feature is its tf-idf value times the label's relative coefficient; computed
        for the whole batch at once, then the top ones per row (at least ``MIN_EVIDENCE_WEIGHT``) are kept.
        """
        rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
        weights = W.data * self._word_push[best[rows], W.indices]
        strong = weights >= MIN_EVIDENCE_WEIGHT  # weaker ones never make it into the evidence
        rows, weights, cols = rows[strong], weights[strong], W.indices[strong]
        order = np.lexsort((cols, -weights, rows))  # by row, strongest first, then by column
        rows, weights, cols = rows[order], weights[order], cols[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)  # position within its row
        keep = rank < MAX_EVIDENCE * 2
        return rows[keep], cols[keep], weights[keep]


def _width(transformer: Any) -> int:
    """How many columns a fitted feature transformer gives (without listing their names)."""
    for attr in ("idf_", "cue_names_"):
        if hasattr(transformer, attr):
            return len(getattr(transformer, attr))
    return len(transformer.get_feature_names_out())


def _evidence(text: str, candidates: list[tuple[float, int, int]]) -> list[Evidence]:
    """Phrases that pushed toward the predicted label, strongest first, non-overlapping.

    ``candidates`` are ``(-weight, start, end)`` (negated, so they sort strongest first, then by
    position); weights below a tenth of the strongest (and below ``MIN_EVIDENCE_WEIGHT``) are
    dropped, and at most ``MAX_EVIDENCE`` phrases are kept.
    """
    if not candidates:
        return []
    candidates.sort()
    ceiling = -max(MIN_EVIDENCE_WEIGHT, -candidates[0][0] * 0.1)
    chosen: list[tuple[float, int, int]] = []
    for w, s, e in candidates:
        if w > ceiling:
            break
        for _, cs, ce in chosen:
            if s < ce and cs < e:
                break
        else:
            chosen.append((w, s, e))
            if len(chosen) == MAX_EVIDENCE:
                break
    return [Evidence(text[s:e], s, e, round(-w, 4)) for w, s, e in chosen]


def _texts_and_ids(items: Any) -> tuple[list[str], list[str | None]]:
    if isinstance(items, str | Record | dict):
        items = [items]
    if hasattr(items, "index") and hasattr(items, "tolist") and not isinstance(items, list | tuple | np.ndarray):
        return as_texts(items), [str(i) for i in items.index]
    texts: list[str] = []
    ids: list[str | None] = []
    for item in items if isinstance(items, Iterable) else [items]:
        if isinstance(item, Record):
            texts.append(item.text)
            ids.append(item.id)
        elif isinstance(item, dict):
            texts.append(str(item.get("text") or ""))
            ids.append(None if item.get("id") is None else str(item["id"]))
        else:
            texts.append(item if isinstance(item, str) else str(item))
            ids.append(None)
    return texts, ids


__all__ = ["LABELS", "Classifier", "Evidence", "Prediction", "build_pipeline", "DEFAULT_PARAMS"]
