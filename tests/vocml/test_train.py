"""Training: the shipped model is rebuilt from data/ deterministically; bad inputs fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vocml.bundle import default_model_dir, read_card, sha256_file
from vocml.errors import ConfigError, DataError
from vocml.train import load_config, train

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_model_is_rebuilt_deterministically_from_data(tmp_path: Path, shipped_model) -> None:  # type: ignore[no-untyped-def]
    card = read_card(default_model_dir())
    gold = [d for d in card.data if d["kind"] == "gold"]
    assert [d["path"] for d in gold] == ["data/gold.jsonl"]
    assert gold[0]["sha256"] == sha256_file(ROOT / "data" / "gold.jsonl"), "data/ changed since the model was trained"
    model, rebuilt = train(
        [ROOT / "data" / "gold.jsonl"], tmp_path / "m", params=card.params, seed=card.seed, version=card.version
    )
    assert rebuilt.metrics == card.metrics
    texts = ["Nobody asked what we needed.", "Asked about their goals first.", "Invoice is wrong."]
    np.testing.assert_allclose(model.predict_proba(texts), shipped_model.predict_proba(texts), atol=1e-9)


def test_shipped_card_has_dev_figures_and_cv_metrics() -> None:
    card = read_card(default_model_dir())
    assert card.metrics["macro_f1"] > 0.8 and len(card.metrics["confusion"]["matrix"]) == 3
    dev = card.evaluations["dev.jsonl"]
    assert {"macro_f1", "per_label", "hard", "ece", "confusion"} <= set(dev)


def test_train_refuses_missing_labels(tmp_path: Path) -> None:
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps({"text": "x", "label": "no_signal"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="no rows labelled pitch_first, needs_first"):
        train([path], None, folds=0)


def test_config_file_overrides_and_rejects_unknown_tables(tmp_path: Path) -> None:
    good = tmp_path / "train.toml"
    good.write_text("[pipeline]\nclf__estimator__C = 2.0\nfeatures__word__ngram_range = [1, 3]\n", encoding="utf-8")
    assert load_config(good) == {"clf__estimator__C": 2.0, "features__word__ngram_range": (1, 3)}
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipelin]\nx = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="pipelin"):
        load_config(bad)
