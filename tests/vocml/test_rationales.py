"""Marked reasons: a reader's phrases turn a labelled text's sentences into training rows, and training
on them teaches the model the sentence that carries the approach."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vocml.data import Record
from vocml.errors import ConfigError, DataError
from vocml.rationales import RationaleSpec, read_rationales, sentence_rows
from vocml.text import get_tokenizer
from vocml.train import load_data_config, train

TOKENIZER = get_tokenizer("en")
REVIEW = (
    "We went in for a new sofa. The store was big and bright. "
    "The salesman pushed the extended warranty before we said a word. Delivery was late."
)


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_marked_sentences_carry_the_label_and_the_others_are_no_signal() -> None:
    rec = Record(text=REVIEW, id="a", label="pitch_first")
    texts, labels, weights = sentence_rows(
        [rec], {"a": ["pushed the extended warranty"]}, TOKENIZER, weight=1.0, rest_weight=0.3
    )
    assert list(zip(texts, labels, weights, strict=True)) == [
        ("We went in for a new sofa.", "no_signal", 0.3),
        ("The store was big and bright.", "no_signal", 0.3),
        ("The salesman pushed the extended warranty before we said a word.", "pitch_first", 1.0),
        ("Delivery was late.", "no_signal", 0.3),
    ]


def test_a_phrase_across_two_sentences_marks_both_and_short_texts_are_split_too() -> None:
    rec = Record(text="They asked about our budget. Then they listened.", id="b", label="needs_first")
    texts, labels, _ = sentence_rows([rec], {"b": ["our budget. Then they"]}, TOKENIZER, weight=2.0, rest_weight=0.0)
    assert texts == ["They asked about our budget.", "Then they listened."]
    assert labels == ["needs_first", "needs_first"]


def test_unmarked_and_no_signal_texts_add_nothing() -> None:
    records = [
        Record(text=REVIEW, id="c", label="no_signal"),  # a reader's marks only justify an approach
        Record(text=REVIEW, id="d", label="pitch_first"),  # not marked
        Record(text=REVIEW, label="pitch_first"),  # no id to join on
    ]
    marks = {"c": ["pushed the extended warranty"]}
    assert sentence_rows(records, marks, TOKENIZER, weight=1.0, rest_weight=0.3) == ([], [], [])


def test_a_phrase_not_in_its_text_names_the_text_and_the_phrase() -> None:
    rec = Record(text=REVIEW, id="e", label="pitch_first")
    with pytest.raises(DataError, match=r"'pushed the warranty' is not in text e; copy it exactly"):
        sentence_rows([rec], {"e": ["pushed the warranty"]}, TOKENIZER, weight=1.0, rest_weight=0.3)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("{not json", "line 2: is not valid JSON"),
        ({"spans": ["x"]}, "line 2, field 'id': needs the id"),
        ({"id": "z", "spans": []}, "line 2, field 'spans': must be a non-empty list"),
        ({"id": "z", "spans": ["  "]}, "line 2, field 'spans': must be a non-empty list"),
        ({"id": "a", "spans": ["y"]}, "line 2, field 'id': id a is marked twice"),
    ],
)
def test_a_bad_marks_file_names_the_line(tmp_path: Path, row: object, message: str) -> None:
    path = write(tmp_path / "marks.jsonl", [{"id": "a", "spans": ["x"], "note": ""}, row])
    with pytest.raises(DataError, match=message):
        read_rationales(path)


def test_the_recipe_reads_the_marks_and_refuses_unknown_keys(tmp_path: Path) -> None:
    cfg = tmp_path / "train.toml"
    cfg.write_text(
        '[data]\ntrain = [{path = "t.jsonl"}]\nrationales = {path = "m.jsonl", weight = 2.0, rest_weight = 0.5}\n',
        encoding="utf-8",
    )
    assert load_data_config(cfg).rationales == RationaleSpec(tmp_path / "m.jsonl", 2.0, 0.5)
    cfg.write_text('[data]\nrationales = {path = "m.jsonl", wieght = 2.0}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="takes path, weight and rest_weight"):
        load_data_config(cfg)
    cfg.write_text('[data]\nrationales = {path = "m.jsonl", weight = 0}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="weight must be above 0"):
        load_data_config(cfg)


TOPICS = {  # what each kind of text talks about besides the approach: topic words, not an approach
    "pitch_first": ["The showroom was bright and clean.", "The parking lot was full on a Saturday."],
    "needs_first": ["Our kids loved the play area.", "We had lunch next door afterwards."],
    "no_signal": ["It rained all afternoon.", "The invoice arrived by email."],
}
SIGNAL = {
    "pitch_first": "The rep kept pushing the premium package at us.",
    "needs_first": "The rep first asked what we use it for every day.",
}


def corpus() -> tuple[list[dict[str, str]], list[dict[str, object]]]:
    """Texts whose label rests on one sentence beside sentences on a topic that comes with the label,
    and the marks of that sentence."""
    rows: list[dict[str, str]] = []
    marks: list[dict[str, object]] = []
    for i in range(36):
        label = ["pitch_first", "needs_first", "no_signal"][i % 3]
        sentences = list(TOPICS[label]) if i % 2 else list(reversed(TOPICS[label]))
        if label != "no_signal":
            sentences.insert(i % 3, SIGNAL[label])
            marks.append({"id": f"t{i}", "spans": [SIGNAL[label]], "note": ""})
        rows.append({"id": f"t{i}", "text": " ".join(sentences), "label": label})
    return rows, marks


def test_training_on_marks_teaches_the_sentence_that_carries_the_approach(tmp_path: Path) -> None:
    rows, marks = corpus()
    data = write(tmp_path / "train.jsonl", list(rows))
    spec = RationaleSpec(write(tmp_path / "marks.jsonl", list(marks)), 1.0, 0.3)
    plain, _ = train([data], None, folds=0)
    marked, card = train([data], None, folds=0, rationales=spec)
    entry = card.data[-1]
    assert entry["kind"] == "rationales" and entry["rows"] == 24 and entry["sentences"] == 24 * 3
    # Trained on whole texts, the showroom's description reads as pitch-first, since it only ever came
    # with a pitch; once the marked sentences are read apart from the rest, it reads as no_signal.
    topic = " ".join(TOPICS["pitch_first"])
    assert plain.classify([topic])[0].label == "pitch_first"
    assert marked.classify([topic])[0].label == "no_signal"
    assert marked.classify([SIGNAL["pitch_first"]])[0].label == "pitch_first"
    assert marked.classify([SIGNAL["needs_first"]])[0].label == "needs_first"


def test_marks_that_join_no_training_text_are_refused(tmp_path: Path) -> None:
    rows, _ = corpus()
    data = write(tmp_path / "train.jsonl", list(rows))
    spec = RationaleSpec(write(tmp_path / "marks.jsonl", [{"id": "elsewhere", "spans": ["x"]}]))
    with pytest.raises(DataError, match="none of the 1 texts marked"):
        train([data], None, folds=0, rationales=spec)


def test_cross_validation_reads_a_text_s_marks_only_in_the_folds_it_trains(tmp_path: Path) -> None:
    rows, marks = corpus()
    data = write(tmp_path / "train.jsonl", list(rows))
    spec = RationaleSpec(write(tmp_path / "marks.jsonl", list(marks)), 1.0, 0.3)
    _, card = train([data], None, folds=3, rationales=spec, n_jobs=1)
    assert card.metrics["n"] == len(rows)  # scored on the texts, never on their sentence rows
    assert np.isfinite(card.metrics["macro_f1"])
