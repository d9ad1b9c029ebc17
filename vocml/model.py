"""The classifier: one scikit-learn Pipeline with calibrated probabilities, plus predictions with evidence.

``build_pipeline()`` returns the unfitted pipeline; :class:`Classifier` wraps a fitted one with its
model card and turns texts into :class:`Prediction` objects (label, confidence, all scores, the cues
that fired and the phrases that pushed toward the label, with character offsets).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from vocml.card import DEFAULT_THRESHOLD, ModelCard
from vocml.compiled import CompiledModel
from vocml.cues import CUE_NAMES, cue_matrix, match_batch
from vocml.data import LABELS, UNSAFE_TEXT, Record, text_problem
from vocml.errors import ConfigError, DataError
from vocml.linear import LinearScores
from vocml.ngrams import NgramFeatures
from vocml.spans import NgramSpans
from vocml.text import as_texts, get_tokenizer
from vocml.windows import cue_rows, evidence_windows, mix

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

DEFAULT_PARAMS: dict[str, Any] = {
    "clf__estimator__C": 16.0,
    "clf__estimator__class_weight": "balanced",
    "clf__method": "temperature",
    "clf__cv": 5,
}
MAX_EVIDENCE = 3
NO_SIGNAL = "no_signal"  # a label without an approach to show evidence for
MIN_EVIDENCE_WEIGHT = 0.05
RELATIVE_EVIDENCE_WEIGHT = 0.3  # phrases weaker than this share of the strongest are not shown


def build_pipeline(params: dict[str, Any] | None = None) -> Pipeline:
    """Return the unfitted pipeline: features -> label-ratio scaling -> calibrated logistic regression.

    Args:
        params: overrides in scikit-learn's ``step__param`` names (e.g. ``clf__estimator__C``).

    Raises:
        ConfigError: naming an unknown parameter.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from vocml.features import LabelRatioScaler, build_features

    pipeline = Pipeline(
        [
            ("features", build_features()),
            ("scale", LabelRatioScaler()),
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
    from vocml.compile import check_pipeline

    check_pipeline(pipeline)  # every model predicts from its compiled numbers: refuse settings without them
    return pipeline


class SentenceScores(NamedTuple):
    """A batch's sentence windows: each one's text, first and last character, and decision values."""

    owner: np.ndarray
    start: np.ndarray
    end: np.ndarray
    decision: np.ndarray


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
    """A fitted model with its card; the object ``load_model()`` returns.

    Every prediction is computed from the model's compiled numbers (:class:`~vocml.compiled.CompiledModel`:
    n-gram tf-idf, cues and the calibrated linear model, done directly with numpy; a long text's scores
    averaged with its most selling-like sentence's, :mod:`vocml.windows`); the scikit-learn pipeline is
    the training-time object, loaded only when something asks for it (and the test oracle).

    Args:
        pipeline: a fitted pipeline from :func:`build_pipeline` (compiled here); may be ``None``
            with ``compiled`` and ``load_pipeline`` (a bundle loaded without unpickling its pipeline).
        card: the model card, or ``None`` for an unsaved model.
        threshold: predictions with confidence below this are marked ``uncertain``.
        compiled: the pipeline's numbers, when already at hand.
        load_pipeline: returns the pipeline the first time :attr:`pipeline` is read.

    Raises:
        ConfigError: for a pipeline whose configuration has no compiled form.
        NotTrainedError: for a pipeline that is not fitted.
    """

    def __init__(
        self,
        pipeline: Pipeline | None = None,
        card: ModelCard | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        compiled: CompiledModel | None = None,
        load_pipeline: Callable[[], Pipeline] | None = None,
    ) -> None:
        if compiled is None:
            if pipeline is None:
                raise ValueError("a Classifier needs a fitted pipeline, or its compiled numbers")
            from vocml.compile import compile_pipeline

            compiled = compile_pipeline(pipeline)
        self._pipeline = pipeline
        self._load_pipeline = load_pipeline
        self.card = card
        self.threshold = threshold
        self.compiled = compiled
        self.labels: list[str] = list(compiled.labels)
        self._part_names = list(compiled.parts)
        widths = compiled.widths
        self._ngrams = NgramFeatures(compiled.word, compiled.char, get_tokenizer(compiled.lang))
        self._scores = LinearScores(compiled.coef, compiled.intercept, compiled.beta, widths)
        self._lang = compiled.lang
        self.window_weight = compiled.window_weight
        self._no_signal = self.labels.index(NO_SIGNAL) if NO_SIGNAL in self.labels else 0
        self._source_offsets = {k: np.asarray(v, dtype=np.float64) for k, v in compiled.source_offsets.items()}
        self._set_evidence_weights(compiled, widths)

    def _set_evidence_weights(self, compiled: CompiledModel, widths: list[int]) -> None:
        """How much each word n-gram and cue pushes each label, relative to the others (evidence)."""
        offsets = dict(zip(self._part_names, np.cumsum([0, *widths[:-1]]).tolist(), strict=True))
        vocabulary = compiled.word.vocabulary
        self._word_block = self._part_names.index("word")
        push = compiled.coef - compiled.coef.mean(axis=0, keepdims=True)
        word_lo = offsets["word"]
        self._word_push = np.ascontiguousarray(push[:, word_lo : word_lo + len(vocabulary)])
        self._word_push[:, filler_columns(vocabulary)] = 0.0  # "and", "is", "my": never shown as evidence
        self._cue_names = list(compiled.cue_names)
        self._cue_column = {name: i for i, name in enumerate(self._cue_names)}
        # label index -> cue name -> how much that cue pushes toward the label
        self._cue_push: list[dict[str, float]] = [
            {name: float(row[offsets["cues"] + i]) for i, name in enumerate(self._cue_names)} for row in push
        ]

    @property
    def pipeline(self) -> Pipeline:
        """The fitted scikit-learn pipeline (loaded on first use for a bundle)."""
        if self._pipeline is None:
            if self._load_pipeline is None:
                raise ConfigError("this model was built from its compiled numbers alone and has no pipeline")
            self._pipeline = self._load_pipeline()
        return self._pipeline

    @property
    def version(self) -> str | None:
        """The model version from its card."""
        return self.card.version if self.card else None

    def _blocks(
        self, texts: list[str]
    ) -> tuple[
        list[sp.csr_matrix],
        list[dict[str, list[tuple[int, int]]]],
        NgramSpans,
        np.ndarray,
        SentenceScores | None,
    ]:
        """Each feature block, the cue hits, where the word n-grams occur (spaCy runs once), the decision
        values (each text's, averaged with its best sentence window's: :mod:`vocml.windows`) and the
        sentence windows with their own decision values (None when no text has any).

        Raises:
            DataError: for a text no tokenizer can take (a lone surrogate, a control character),
                naming its position in the batch; nothing is computed or cached for the batch.
        """
        for i, text in enumerate(texts):
            if UNSAFE_TEXT.search(text) is not None:
                raise DataError(f"item {i}: {text_problem(text)}", field="text")
        batch = self._ngrams.transform(texts, windows=self.window_weight > 0)
        assert batch.doc is not None
        hits = match_batch(*batch.doc, self._lang)
        if not set(self._cue_names).issuperset(CUE_NAMES):  # a model trained on some of the cues
            names = set(self._cue_names)
            hits = [{k: v for k, v in row.items() if k in names} for row in hits]
        block_of = {"word": batch.word, "char": batch.char, "cues": cue_matrix(hits, self._cue_names)}
        blocks = [block_of[name] for name in self._part_names]
        decision = self._scores.decision(blocks)
        sentences = None
        windows = batch.windows
        if windows is not None and len(windows.owner):
            w, c = cue_rows(hits, self._cue_column, windows.owner, windows.start, windows.end)
            window_cues = sp.csr_matrix((np.ones(len(w)), (w, c)), shape=(len(windows.owner), len(self._cue_names)))
            window_cues.data[:] = 1.0  # a cue found twice in a sentence is one indicator, as for a text
            of_window = {"word": windows.word, "char": windows.char, "cues": window_cues}
            window_decision = self._scores.decision([of_window[name] for name in self._part_names])
            decision = mix(decision, window_decision, windows.owner, self.window_weight, self._no_signal)
            sentences = SentenceScores(windows.owner, windows.start, windows.end, window_decision)
        return blocks, hits, batch.spans, decision, sentences

    def features(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, list[dict[str, list[tuple[int, int]]]]]:
        """The feature matrix (the union's columns) and the cue hits of each text."""
        blocks, hits, _, _, _ = self._blocks(as_texts(texts))
        return sp.hstack(blocks, format="csr"), hits

    def predict_proba(self, texts: Any, sources: Sequence[str | None] | None = None) -> np.ndarray:
        """Calibrated probabilities, columns in ``self.labels`` order.

        ``sources``: each text's source (``call_note``, ``customer_comment`` or ``None``), for the model's
        offsets of a source (:meth:`source_offsets`); ``None`` reads every text as of no named source.
        """
        texts = as_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self._scores.probabilities(self._blocks(texts)[3], self._offsets(sources, len(texts)))

    @property
    def source_offsets(self) -> dict[str, dict[str, float]]:
        """Log-probability offsets (label -> offset) this model adds for a record of each named source:
        fitted on that source's held-out training rows (:func:`vocml.train.fit_source_offsets`)."""
        return {k: dict(zip(self.labels, v.tolist(), strict=True)) for k, v in self._source_offsets.items()}

    def _offsets(self, sources: Sequence[str | None] | None, n: int) -> np.ndarray | None:
        """Each text's offsets by its source (a row of zeros for others), or ``None`` when none applies."""
        if sources is None or not self._source_offsets:
            return None
        if len(sources) != n:
            raise ValueError(f"got {len(sources)} sources for {n} texts")
        rows = [self._source_offsets.get(s) if s is not None else None for s in sources]
        if all(row is None for row in rows):
            return None
        zero = np.zeros(len(self.labels))
        return np.vstack([zero if row is None else row for row in rows])

    def decision(self, texts: Any) -> np.ndarray:
        """Decision values before the temperature (each text's averaged with its best sentence
        window's), columns in ``self.labels`` order: what the temperature is fitted on."""
        texts = as_texts(texts)
        if not texts:
            return np.zeros((0, len(self.labels)))
        return self._blocks(texts)[3]

    def classify(
        self,
        items: Any,
        *,
        batch_size: int = 2000,
        ids: Sequence[str | None] | None = None,
        sources: Sequence[str | None] | None = None,
    ) -> list[Prediction]:
        """Classify texts, :class:`~vocml.data.Record` objects or dicts with ``text`` (and ``id``, ``source``).

        A pandas Series of texts works too (its index becomes the ``id``). ``ids`` and ``sources``, when
        given, are the predictions' ids and the texts' sources instead (one per item). A record's source
        adds the model's offsets for it (:attr:`source_offsets`): a rep's call note is read with the
        label priors of call notes, not of customers' comments.
        """
        texts, item_ids, item_sources = _texts_and_ids(items)
        if ids is None:
            ids = item_ids
        elif len(ids) != len(texts):
            raise ValueError(f"got {len(ids)} ids for {len(texts)} items")
        else:
            ids = list(ids)
        if sources is None:
            sources = item_sources
        elif len(sources) != len(texts):
            raise ValueError(f"got {len(sources)} sources for {len(texts)} items")
        out: list[Prediction] = []
        for lo in range(0, len(texts), batch_size):
            hi = lo + batch_size
            out.extend(self._classify_batch(texts[lo:hi], ids[lo:hi], list(sources[lo:hi])))
        return out

    def _classify_batch(self, texts: list[str], ids: list[str | None], sources: list[str | None]) -> list[Prediction]:
        if not texts:
            return []
        blocks, hits, spans, decision, sentences = self._blocks(texts)
        proba = self._scores.probabilities(decision, self._offsets(sources, len(texts)))
        best = proba.argmax(axis=1)
        rows, cols, weights = self._top_word_features(blocks[self._word_block], best)
        # a long text's evidence comes from the sentences that lean most toward its label
        places: dict[int, list[tuple[int, int]]] = {}
        if sentences is not None:
            signal = np.flatnonzero(best[sentences.owner] != self._no_signal)  # no_signal shows no evidence
            owner = sentences.owner[signal]
            chosen = signal[evidence_windows(sentences.decision[signal], owner, best, self._no_signal)]
            for i, a, b in zip(
                sentences.owner[chosen].tolist(),
                sentences.start[chosen].tolist(),
                sentences.end[chosen].tolist(),
                strict=True,
            ):
                places.setdefault(i, []).append((a, b))
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
            if (inside := places.get(i)) and labels[k] != NO_SIGNAL:
                # (sentences do not overlap: a phrase lies in one at most)
                candidates = [c for c in candidates for a, b in inside if a <= c[1] and c[2] <= b] or candidates
            out.append(
                Prediction(
                    id=ids[i],
                    label=labels[k],
                    confidence=confidence,
                    scores={lab: round(p, 6) for lab, p in zip(labels, row, strict=True)},
                    uncertain=confidence < threshold,
                    cues=sorted(hits[i]),
                    evidence=_evidence(text, candidates) if labels[k] != NO_SIGNAL else [],
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


_LETTER = re.compile(r"[^\W\d_]")


def filler_columns(vocabulary: dict[str, int]) -> np.ndarray:
    """Columns of the word n-grams made only of stop words (spaCy's English list), numbers and signs
    ("and is", "my", "$", "60", "a 3"): they carry weight in the model but mean nothing to a reader, so
    they are never evidence."""
    from spacy.lang.en.stop_words import STOP_WORDS

    def filler(token: str) -> bool:
        return token in STOP_WORDS or _LETTER.search(token) is None

    return np.fromiter((col for term, col in vocabulary.items() if all(map(filler, term.split(" ")))), dtype=np.int64)


def _evidence(text: str, candidates: list[tuple[float, int, int]]) -> list[Evidence]:
    """Phrases that pushed toward the predicted label, strongest first, non-overlapping.

    ``candidates`` are ``(-weight, start, end)`` (negated, so they sort strongest first, then by
    position); weights below ``RELATIVE_EVIDENCE_WEIGHT`` of the strongest (and below
    ``MIN_EVIDENCE_WEIGHT``) are dropped, and of the ``MAX_EVIDENCE`` strongest places a phrase found
    in two ("signed" ... "signed") is shown once, at its strongest.
    """
    if not candidates:
        return []
    candidates.sort()
    ceiling = -max(MIN_EVIDENCE_WEIGHT, -candidates[0][0] * RELATIVE_EVIDENCE_WEIGHT)
    places: list[tuple[int, int]] = []
    shown: set[str] = set()
    out = []
    for w, s, e in candidates:
        if w > ceiling:
            break
        if any(s < ce and cs < e for cs, ce in places):
            continue
        places.append((s, e))
        if (phrase := text[s:e]).lower() not in shown:
            shown.add(phrase.lower())
            out.append(Evidence(phrase, s, e, round(-w, 4)))
        if len(places) == MAX_EVIDENCE:
            break
    return out


def _texts_and_ids(items: Any) -> tuple[list[str], list[str | None], list[str | None]]:
    """Each item's text, id and source (``None`` where an item has none)."""
    if isinstance(items, str | Record | dict):
        items = [items]
    if hasattr(items, "index") and hasattr(items, "tolist") and not isinstance(items, list | tuple | np.ndarray):
        series = as_texts(items)
        return series, [str(i) for i in items.index], [None] * len(series)
    texts: list[str] = []
    ids: list[str | None] = []
    sources: list[str | None] = []
    for item in items if isinstance(items, Iterable) else [items]:
        if isinstance(item, Record):
            texts.append(item.text)
            ids.append(item.id)
            sources.append(item.source)
        elif isinstance(item, dict):
            texts.append(str(item.get("text") or ""))
            ids.append(None if item.get("id") is None else str(item["id"]))
            sources.append(None if item.get("source") is None else str(item["source"]))
        else:
            texts.append(item if isinstance(item, str) else str(item))
            ids.append(None)
            sources.append(None)
    return texts, ids, sources


__all__ = ["LABELS", "Classifier", "Evidence", "Prediction", "build_pipeline", "DEFAULT_PARAMS"]
