"""Training: gold (and optionally silver) records -> cross-validated metrics -> a saved model bundle."""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold

from vocml import __version__
from vocml.bundle import now_iso, numeric_versions, runtime_versions, save_bundle, sha256_file
from vocml.card import DEFAULT_THRESHOLD, ModelCard
from vocml.data import LABELS, SOURCES, Record, json_lines, read_records, validate_row
from vocml.errors import ConfigError, DataError
from vocml.evaluate import score
from vocml.model import DEFAULT_PARAMS, Classifier, build_pipeline
from vocml.rationales import RationaleSpec, read_rationales, sentence_rows
from vocml.text import get_tokenizer
from vocml.weak import cue_report, vote_matrix
from vocml.windows import WINDOW_WEIGHT

log = logging.getLogger(__name__)

DEFAULT_SEED = 0
DEFAULT_SILVER_WEIGHT = 0.5
DEFAULT_MIN_SILVER_CONFIDENCE = 0.7


def read_silver(path: str | os.PathLike[str], *, min_confidence: float = 0.0) -> tuple[list[Record], list[float], int]:
    """Read silver rows written by ``vocml label``.

    Returns:
        (records, confidences, n_below): rows at or above ``min_confidence``, their confidences, and
        how many rows were left out for low confidence (reported, never silently dropped).
    """
    records: list[Record] = []
    confidences: list[float] = []
    below = 0
    for number, row in json_lines(path):
        rec = validate_row(row, line=number, require_label=True)
        conf = row.get("label_confidence")
        if not isinstance(conf, int | float) or not 0 <= conf <= 1:
            raise DataError(
                "must be a number between 0 and 1; silver files come from `vocml label`",
                line=number,
                field="label_confidence",
            )
        if conf < min_confidence:
            below += 1
            continue
        records.append(rec)
        confidences.append(float(conf))
    return records, confidences, below


def _read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"cannot read config {path}: {e}") from e
    unknown = set(raw) - {"pipeline", "data"}
    if unknown:
        raise ConfigError(
            f"unknown table(s) {', '.join(sorted(unknown))} in {path}; only [pipeline] and [data] are read"
        )
    return raw


def load_config(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """Pipeline parameters from a TOML file's ``[pipeline]`` table (empty when ``path`` is None)."""
    if path is None:
        return {}
    params = dict(_read_toml(path).get("pipeline", {}))
    return {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}


class DataConfig(NamedTuple):
    """The ``[data]`` table of a recipe."""

    files: list[tuple[Path, float]]  # training files and their weights
    calibrate: Path | None  # the held-out file the temperature is fitted on
    rationales: RationaleSpec | None  # readers' marked phrases in the training texts (vocml.rationales)
    source_offsets: tuple[str, ...] = ()  # sources whose label priors get their own offsets (fit_source_offsets)


def load_data_config(path: str | os.PathLike[str]) -> DataConfig:
    """The ``[data]`` table of a config: training files with their weights, the calibration file, the marks.

    Paths are relative to the config file. ``train = [{path = "real/train.jsonl", weight = 1.0}, ...]``,
    ``calibrate = "real/dev.jsonl"``,
    ``rationales = {path = "real/rationales.jsonl", weight = 1.0, rest_weight = 0.3}``,
    ``source_offsets = ["call_note"]``.
    """
    table = _read_toml(path).get("data", {})
    base = Path(path).resolve().parent
    unknown = set(table) - {"train", "calibrate", "rationales", "source_offsets"}
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(sorted(unknown))} in [data] of {path}; "
            "use train, calibrate, rationales and source_offsets"
        )
    sources = table.get("source_offsets", [])
    if not isinstance(sources, list) or any(s not in SOURCES for s in sources):
        raise ConfigError(f"[data] source_offsets in {path} lists sources of the data contract: {', '.join(SOURCES)}")
    files = []
    for entry in table.get("train", []):
        if not isinstance(entry, dict) or "path" not in entry:
            raise ConfigError(f'[data] train entries in {path} need a path, e.g. {{path = "gold.jsonl", weight = 1.0}}')
        weight = float(entry.get("weight", 1.0))
        if not weight > 0:
            raise ConfigError(f"[data] weight of {entry['path']} in {path} must be above 0")
        files.append((base / entry["path"], weight))
    calibrate = table.get("calibrate")
    marks = table.get("rationales")
    spec = None
    if marks is not None:
        if not isinstance(marks, dict) or "path" not in marks or set(marks) - {"path", "weight", "rest_weight"}:
            raise ConfigError(
                f"[data] rationales in {path} takes path, weight and rest_weight, e.g. "
                '{path = "real/rationales.jsonl", weight = 1.0, rest_weight = 0.3}'
            )
        spec = RationaleSpec(base / marks["path"], **{k: float(v) for k, v in marks.items() if k != "path"})
        if not spec.weight > 0 or spec.rest_weight < 0:
            raise ConfigError(f"[data] rationales in {path}: weight must be above 0 and rest_weight 0 or more")
    return DataConfig(files, base / calibrate if calibrate else None, spec, tuple(sources))


def _fold_model(
    params: dict[str, Any], X: list[str], y: list[str], w: np.ndarray, calibrate: Sequence[Record] = ()
) -> Classifier:
    """A model fitted on one fold's rows as the shipped one is (sentence windows; its temperature fitted on
    ``calibrate`` when given)."""
    pipeline = build_pipeline(params)
    pipeline.fit(X, y, scale__sample_weight=w, clf__sample_weight=w)
    pipeline.window_weight_ = WINDOW_WEIGHT  # scored as the shipped model scores
    if calibrate:
        recalibrate(pipeline, calibrate)
    return Classifier(pipeline)


def _fit_predict(params: dict[str, Any], X: list[str], y: list[str], w: np.ndarray, X_test: list[str]) -> np.ndarray:
    clf = _fold_model(params, X, y, w)
    proba = clf.predict_proba(X_test)
    return proba[:, [clf.labels.index(lab) for lab in LABELS]]


def _extra_rows(
    extra: Sequence[tuple[list[str], list[str], list[float]]], indices: Sequence[int]
) -> tuple[list[str], list[str], np.ndarray]:
    """The extra rows (texts, labels, weights) the gold rows at ``indices`` add, in their order."""
    chosen = [extra[i] for i in indices] if extra else []
    texts = [t for rows in chosen for t in rows[0]]
    labels = [lab for rows in chosen for lab in rows[1]]
    return texts, labels, np.asarray([w for rows in chosen for w in rows[2]], dtype=np.float64)


def cross_validate(
    gold: Sequence[Record],
    *,
    params: dict[str, Any],
    seed: int,
    folds: int = 5,
    silver: Sequence[Record] = (),
    silver_conf: Sequence[float] = (),
    silver_weight: float = DEFAULT_SILVER_WEIGHT,
    weights: Sequence[float] | None = None,
    n_jobs: int = 2,
    extra: Sequence[tuple[list[str], list[str], list[float]]] = (),
) -> dict[str, Any]:
    """Stratified k-fold metrics on the gold rows (silver rows only ever join the training folds).

    ``weights``: each gold row's training weight (1 by default); every row is scored alike.
    ``extra``: for each gold row, the rows it adds to a fold it trains in (its marked sentences).
    """
    texts = [r.text for r in gold]
    y = np.array([r.label for r in gold])
    row_w = np.ones(len(gold)) if weights is None else np.asarray(weights, dtype=np.float64)
    s_texts = [r.text for r in silver]
    s_y = [str(r.label) for r in silver]
    s_w = np.asarray(silver_conf, dtype=np.float64) * silver_weight
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(texts, y))
    jobs = []
    for train_idx, test_idx in splits:
        e_texts, e_y, e_w = _extra_rows(extra, train_idx)
        X_tr = [texts[i] for i in train_idx] + s_texts + e_texts
        y_tr = [str(y[i]) for i in train_idx] + s_y + e_y
        w_tr = np.concatenate([row_w[train_idx], s_w, e_w])
        jobs.append(delayed(_fit_predict)(params, X_tr, y_tr, w_tr, [texts[i] for i in test_idx]))
    results = Parallel(n_jobs=n_jobs)(jobs)
    proba = np.zeros((len(texts), len(LABELS)))
    for (_, test_idx), fold_proba in zip(splits, results, strict=True):
        proba[test_idx] = fold_proba
    y_pred = [LABELS[i] for i in proba.argmax(axis=1)]
    metrics = score(list(y), y_pred, proba)
    metrics["folds"] = folds
    hard = [i for i, r in enumerate(gold) if r.hard]
    if hard:
        sub = score([str(y[i]) for i in hard], [y_pred[i] for i in hard])
        metrics["hard"] = {"n": sub["n"], "macro_f1": sub["macro_f1"]}
    return metrics


def _fold_logits(
    params: dict[str, Any],
    X: list[str],
    y: list[str],
    w: np.ndarray,
    X_held: list[str],
    calibrate: Sequence[Record],
) -> tuple[np.ndarray, list[str]]:
    """The held-out texts' log-probabilities up to a constant (``beta * z``) under a fold's model
    (:func:`_fold_model`), with the label order."""
    clf = _fold_model(params, X, y, w, calibrate)
    return clf.decision(X_held) * clf.compiled.beta, list(clf.labels)


def fit_source_offsets(
    source: str,
    sources: Sequence[str | None],
    texts: Sequence[str],
    labels: Sequence[str],
    weights: np.ndarray,
    owners: np.ndarray,
    *,
    params: dict[str, Any],
    calibrate: Sequence[Record] = (),
    folds: int = 2,
    seed: int = DEFAULT_SEED,
    n_jobs: int = 2,
) -> dict[str, Any]:
    """Per-label log-probability offsets for the records of ``source``, fitted on that source's rows held out.

    The model's label priors are those of the texts it mostly learns from (customers' comments, most of them
    without an approach); a rep's call note is a different stream. ``sources`` are the gold rows' sources
    (the first ``len(sources)`` of ``texts``); ``owners`` gives, for each row of ``texts``, the gold row it
    comes from (itself, or the text of a marked sentence; -1 for a silver row). Each of ``folds`` stratified
    parts of the gold rows of ``source`` is held out in turn, with every row they own, while the model is
    trained on everything else, and the offsets
    ``b`` minimise the held-out rows' log-loss of ``softmax(beta * z + b)``. The model shipped adds ``b`` to
    a record of that source (:attr:`vocml.model.Classifier.source_offsets`).

    Returns:
        ``{"source", "n", "folds", "offsets": {label: b}, "log_loss_before", "log_loss_after",
        "macro_f1_before", "macro_f1_after"}`` (the held-out figures, without and with the offsets).

    Raises:
        DataError: when a label has fewer than ``folds`` rows of ``source``.
    """
    from scipy.optimize import minimize

    rows = np.flatnonzero(np.asarray([s == source for s in sources], dtype=bool))
    labels = list(labels)
    y_src = np.asarray([labels[i] for i in rows])
    counts = {lab: int((y_src == lab).sum()) for lab in LABELS}
    if min(counts.values()) < max(folds, 2):
        raise DataError(
            f"offsets for {source} need at least {max(folds, 2)} training rows of that source per label; "
            f"got {counts}: add labelled {source} rows or drop it from [data] source_offsets"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    jobs = []
    held_parts = []
    for _, held_idx in splitter.split(rows, y_src):
        held = rows[held_idx]
        keep = ~np.isin(owners, held)
        held_parts.append(held)
        jobs.append(
            delayed(_fold_logits)(
                params,
                [t for t, k in zip(texts, keep, strict=True) if k],
                [lab for lab, k in zip(labels, keep, strict=True) if k],
                weights[keep],
                [texts[i] for i in held],
                list(calibrate),
            )
        )
    results = Parallel(n_jobs=n_jobs)(jobs)
    order = results[0][1]
    logits = np.vstack([z for z, _ in results])
    y = np.asarray([order.index(labels[i]) for held in held_parts for i in held])

    def loss(b: np.ndarray) -> float:
        z = logits + b
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(y)), y].mean())

    fitted = minimize(loss, np.zeros(len(order)), method="BFGS")
    b = fitted.x - fitted.x.mean()  # a softmax ignores a shift common to every label
    before = score([order[i] for i in y], [order[i] for i in logits.argmax(axis=1)])
    after = score([order[i] for i in y], [order[i] for i in (logits + b).argmax(axis=1)])
    return {
        "source": source,
        "n": int(len(y)),
        "folds": folds,
        "offsets": {lab: round(float(v), 6) for lab, v in zip(order, b, strict=True)},
        "log_loss_before": round(loss(np.zeros(len(order))), 4),
        "log_loss_after": round(loss(b), 4),
        "macro_f1_before": before["macro_f1"],
        "macro_f1_after": after["macro_f1"],
    }


def train(
    data: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    version: str = __version__,
    params: dict[str, Any] | None = None,
    seed: int = DEFAULT_SEED,
    silver: Sequence[str | os.PathLike[str]] = (),
    silver_weight: float = DEFAULT_SILVER_WEIGHT,
    min_silver_confidence: float = DEFAULT_MIN_SILVER_CONFIDENCE,
    folds: int = 5,
    threshold: float = DEFAULT_THRESHOLD,
    n_jobs: int = 2,
    weights: Sequence[float] | None = None,
    calibrate: str | os.PathLike[str] | None = None,
    rationales: RationaleSpec | None = None,
    source_offsets: Sequence[str] = (),
) -> tuple[Classifier, ModelCard]:
    """Train on gold files (plus weighted silver files), cross-validate, and save a bundle.

    Args:
        data: gold training files in the data contract (``label`` required); reviewed-label exports
            from the service are gold files too.
        out_dir: where to write ``pipeline.joblib`` and ``card.json``; nothing is written when ``None``.
        version: the model version recorded in the card.
        params: pipeline overrides in ``step__param`` form.
        seed: the cross-validation seed; the same data and seed give the same model and metrics.
        silver: files written by ``vocml label``; each row weighs ``silver_weight * label_confidence``.
        min_silver_confidence: silver rows below this confidence are left out (and counted in the card).
        folds: cross-validation folds (0 or 1 skips cross-validation).
        weights: one training weight per file of ``data`` (1 each by default), e.g. to let real texts
            count more than texts written for the project.
        calibrate: a labelled file never trained on (real-dev); the probabilities' temperature is
            fitted on it (:func:`recalibrate`), so confidence means the same on that kind of text.
        rationales: readers' marked phrases in the training texts; the sentences holding them (and, at
            a lower weight, the same texts' other sentences as no_signal) join the training rows
            (:mod:`vocml.rationales`).
        source_offsets: sources (``call_note``) whose records get their own label offsets, fitted on their
            training rows held out in two folds (:func:`fit_source_offsets`; trains the model twice more).

    Returns:
        The fitted classifier and its card.
    """
    merged = {**DEFAULT_PARAMS, **(params or {})}
    build_pipeline(merged)  # validates the parameter names before any work
    gold: list[Record] = []
    row_weights: list[float] = []
    data_info = []
    if weights is not None and len(weights) != len(data):
        raise ConfigError(f"got {len(weights)} weights for {len(data)} training files; give one per file")
    for i, path in enumerate(data):
        rows = read_records(path, require_label=True)
        weight = 1.0 if weights is None else float(weights[i])
        gold.extend(rows)
        row_weights += [weight] * len(rows)
        data_info.append(
            {"path": _display(path), "sha256": sha256_file(path), "rows": len(rows), "kind": "gold", "weight": weight}
        )
    if not gold:
        raise DataError("no training rows; pass at least one labelled file")
    present = {str(r.label) for r in gold}
    missing = [lab for lab in LABELS if lab not in present]
    if missing:
        raise DataError(f"training data has no rows labelled {', '.join(missing)}; every label needs examples")
    s_records: list[Record] = []
    s_conf: list[float] = []
    for path in silver:
        recs, confs, below = read_silver(path, min_confidence=min_silver_confidence)
        s_records.extend(recs)
        s_conf.extend(confs)
        data_info.append(
            {
                "path": _display(path),
                "sha256": sha256_file(path),
                "rows": len(recs),
                "kind": "silver",
                "left_out_below_confidence": below,
            }
        )
    extra: list[tuple[list[str], list[str], list[float]]] = []
    if rationales is not None:
        marks = read_rationales(rationales.path)
        tokenizer = get_tokenizer()
        extra = [
            sentence_rows([r], marks, tokenizer, weight=rationales.weight, rest_weight=rationales.rest_weight)
            for r in gold
        ]
        used = sum(1 for rows in extra if rows[0])
        if not used:
            raise DataError(
                f"none of the {len(marks)} texts marked in {rationales.path} is a signal text of the training data"
            )
        data_info.append(
            {
                "path": _display(rationales.path),
                "sha256": sha256_file(rationales.path),
                "rows": used,
                "kind": "rationales",
                "weight": rationales.weight,
                "rest_weight": rationales.rest_weight,
                "sentences": sum(len(rows[0]) for rows in extra),
            }
        )
    log.info("training on %d gold and %d silver rows", len(gold), len(s_records))
    metrics: dict[str, Any] = {}
    if folds and folds > 1:
        metrics = cross_validate(
            gold,
            params=merged,
            seed=seed,
            folds=folds,
            silver=s_records,
            silver_conf=s_conf,
            silver_weight=silver_weight,
            weights=row_weights,
            n_jobs=n_jobs,
            extra=extra,
        )
    e_texts, e_labels, e_weights = _extra_rows(extra, range(len(gold)))
    owners = np.concatenate(
        [
            np.arange(len(gold)),
            np.full(len(s_records), -1),
            np.repeat(np.arange(len(gold)), [len(rows[0]) for rows in extra] if extra else 0),
        ]
    ).astype(np.int64)
    texts = [r.text for r in gold] + [r.text for r in s_records] + e_texts
    labels = [str(r.label) for r in gold] + [str(r.label) for r in s_records] + e_labels
    fit_weights = np.concatenate([np.asarray(row_weights), np.asarray(s_conf) * silver_weight, e_weights])
    held_out = read_records(calibrate, require_label=True) if calibrate is not None else []
    offsets = [
        fit_source_offsets(
            source,
            [r.source for r in gold],
            texts,
            labels,
            fit_weights,
            owners,
            params=merged,
            calibrate=held_out,
            seed=seed,
            n_jobs=n_jobs,
        )
        for source in source_offsets
    ]
    if offsets:
        metrics["source_offsets"] = offsets
    pipeline = build_pipeline(merged)
    pipeline.fit(texts, labels, scale__sample_weight=fit_weights, clf__sample_weight=fit_weights)
    pipeline.window_weight_ = WINDOW_WEIGHT  # long texts are scored by their sentence windows too
    pipeline.source_offsets_ = {o["source"]: [o["offsets"][c] for c in pipeline.classes_] for o in offsets}
    calibration: dict[str, Any] = {}
    if calibrate is not None:
        calibration = recalibrate(pipeline, held_out)
        calibration["path"] = _display(calibrate)
        calibration["sha256"] = sha256_file(calibrate)
        metrics["calibration"] = calibration
    L, names = vote_matrix([r.text for r in gold])
    index = {lab: i for i, lab in enumerate(LABELS)}
    report = cue_report(L, names, np.array([index[str(r.label)] for r in gold]))
    versions = runtime_versions()
    card = ModelCard(
        version=version,
        vocml=versions["vocml"],
        sklearn=versions["sklearn"],
        spacy=versions["spacy"],
        labels=list(LABELS),
        params={k: list(v) if isinstance(v, tuple) else v for k, v in merged.items()},
        seed=seed,
        data=data_info,
        metrics=metrics,
        created=now_iso(),
        threshold=threshold,
        cue_report=report,
        numeric=numeric_versions(),
    )
    if out_dir is not None:
        card = save_bundle(pipeline, card, out_dir)
    return Classifier(pipeline, card, threshold=threshold), card


def recalibrate(pipeline: Any, records: Sequence[Record]) -> dict[str, Any]:
    """Fit the fitted pipeline's temperature on held-out ``records``, in place.

    The calibrated model computes ``softmax(beta * z)`` from the linear model's decision values ``z`` (a
    long text's averaged with its best sentence window's, :mod:`vocml.windows`); ``beta``
    minimises the log-loss on ``records`` and is written into the pipeline as the calibrator's ``beta_``,
    so every prediction path gives the same numbers. Only the temperature moves: the predicted labels
    stay those of the class-balanced fit (offsets toward the held-out label priors would turn most
    pitch-first and needs-first texts into no_signal). Returns what was fitted and the log-loss before
    and after.
    """
    from scipy.optimize import minimize_scalar

    clf = pipeline.named_steps["clf"]
    if len(clf.calibrated_classifiers_) != 1 or clf.calibrated_classifiers_[0].method != "temperature":
        raise ConfigError("recalibration needs the shipped configuration (one temperature-calibrated linear model)")
    inner = clf.calibrated_classifiers_[0]
    z = Classifier(pipeline).decision([r.text for r in records])  # with the sentence windows, as predicted
    index = {str(c): i for i, c in enumerate(clf.classes_)}
    y = np.array([index[str(r.label)] for r in records])

    def loss(beta: float) -> float:
        logits = beta * z
        logits -= logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        return float(-log_p[np.arange(len(y)), y].mean())

    before = loss(float(inner.calibrators[0].beta_))
    result = minimize_scalar(loss, bounds=(1e-3, 100.0), method="bounded", options={"xatol": 1e-6})
    inner.calibrators[0].beta_ = float(result.x)
    return {
        "n": len(records),
        "temperature_beta": round(float(result.x), 6),
        "log_loss_before": round(before, 4),
        "log_loss_after": round(float(result.fun), 4),
    }


def _display(path: str | os.PathLike[str]) -> str:
    p = Path(path).resolve()
    try:
        return str(p.relative_to(Path.cwd().resolve()))
    except ValueError:
        return p.name
