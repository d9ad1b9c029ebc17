"""The training data in data/: size, balance, coverage, and no near-duplicates of the dev set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from vocml.data import read_records

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "data" / "gold.jsonl"
POOL = ROOT / "data" / "unlabeled.jsonl"
DEV = ROOT.parent / "shared" / "data" / "dev.jsonl"
NEAR_DUPLICATE_COSINE = 0.8


@pytest.fixture(scope="module")
def gold():  # type: ignore[no-untyped-def]
    return read_records(GOLD, require_label=True)


def test_gold_size_and_balance(gold) -> None:  # type: ignore[no-untyped-def]
    assert len(gold) >= 2500
    by_label = Counter(r.label for r in gold)
    assert min(by_label.values()) / max(by_label.values()) > 0.9, by_label
    by_cell = Counter((r.label, r.source) for r in gold)
    assert len(by_cell) == 6 and min(by_cell.values()) >= 350, by_cell


def test_at_least_a_quarter_hard_cases(gold) -> None:  # type: ignore[no-untyped-def]
    assert sum(bool(r.hard) for r in gold) / len(gold) >= 0.25


def test_no_duplicate_texts_in_gold(gold) -> None:  # type: ignore[no-untyped-def]
    texts = Counter(" ".join(r.text.lower().split()) for r in gold)
    assert [t for t, n in texts.items() if n > 1] == []


def test_unlabeled_pool_size() -> None:
    pool = read_records(POOL)
    assert len(pool) >= 3000
    assert all(r.label is None for r in pool)


@pytest.mark.skipif(not DEV.exists(), reason="the dev set lives in ../shared/data")
def test_no_training_text_is_a_near_duplicate_of_the_dev_set(gold) -> None:  # type: ignore[no-untyped-def]
    dev = [r.text for r in read_records(DEV)]
    train = [r.text for r in gold] + [r.text for r in read_records(POOL)]
    train += [
        r.text for split in ("train", "dev", "test") for r in read_records(ROOT / "data" / "real" / f"{split}.jsonl")
    ]
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True).fit(dev + train)
    sims = (vec.transform(train) @ vec.transform(dev).T).tocsr()
    worst = sims.max(axis=1).toarray().ravel()
    bad = np.flatnonzero(worst >= NEAR_DUPLICATE_COSINE)
    offenders = [(train[i][:80], dev[int(sims[i].toarray().argmax())][:80]) for i in bad[:5]]
    assert len(bad) == 0, f"{len(bad)} training texts nearly copy dev texts, e.g. {offenders}"


def test_near_duplicate_check_would_catch_a_light_edit() -> None:
    dev_text = "Solar rep said our bill would be basically zero. It's 140 a month and he never looked at usage."
    edited = "Solar rep said our bill would be basically zero! It's 150 a month and he never looked at our usage."
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit([dev_text, edited])
    assert (vec.transform([edited]) @ vec.transform([dev_text]).T).toarray()[0, 0] >= NEAR_DUPLICATE_COSINE
