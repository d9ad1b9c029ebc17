"""Evidence precision on real text: of the phrases the model shows, the share inside the words a second
reader marked as justifying the label, on the real texts whose label is pitch-first or needs-first.

- real-dev (where the evidence rules are chosen): data/real/evidence_marks.jsonl (100 texts marked for
  this) and, for the others, the marks made when dev's labels were reviewed
  (data/real/labels/review_dev_marks.jsonl);
- real-test (held out from those choices): the marks made when test's labels were reviewed
  (data/real/labels/review_test_marks.jsonl).

A text the review turned to no_signal is left out (its marks justified a label it no longer has). A
phrase counts when at least half of its characters are marked.

    .venv/bin/python tests/bench/bench_evidence.py
"""

from __future__ import annotations

import json
from pathlib import Path

from vocml.bundle import load_model
from vocml.model import Classifier

ROOT = Path(__file__).resolve().parents[2]
MARKS = {
    "dev": ("data/real/labels/review_dev_marks.jsonl", "data/real/evidence_marks.jsonl"),  # the latter wins
    "test": ("data/real/labels/review_test_marks.jsonl",),
}


def score(model: Classifier, split: str) -> None:
    rows = {r["id"]: r for r in map(json.loads, (ROOT / f"data/real/{split}.jsonl").read_text().splitlines())}
    by_id: dict[str, dict] = {}
    for name in MARKS[split]:
        for line in (ROOT / name).read_text().splitlines():
            mark = json.loads(line)
            if rows[mark["id"]]["label"] != "no_signal":
                by_id[mark["id"]] = mark
    marks = sorted(by_id.values(), key=lambda m: m["id"])
    texts = {key: row["text"] for key, row in rows.items()}
    predictions = model.classify([texts[m["id"]] for m in marks])
    shown = inside = shown_right = inside_right = right = 0
    for mark, pred in zip(marks, predictions, strict=True):
        text = texts[mark["id"]]
        covered: set[int] = set()
        for phrase in mark["spans"]:
            start = text.find(phrase)
            if start >= 0:
                covered.update(range(start, start + len(phrase)))
        ok_label = pred.label == rows[mark["id"]]["label"]
        right += ok_label
        for ev in pred.evidence:
            ok = len(covered.intersection(range(ev.start, ev.end))) * 2 >= ev.end - ev.start
            shown += 1
            inside += ok
            shown_right += ok_label
            inside_right += ok and ok_label
    print(
        f"real-{split}: {len(marks)} texts, {sum(len(m['spans']) for m in marks)} marked phrases; "
        f"model label right on {right}"
    )
    print(f"  evidence precision: {inside}/{shown} = {inside / shown:.3f} of all shown phrases")
    share = inside_right / max(shown_right, 1)
    print(f"  on texts the model labelled right: {inside_right}/{shown_right} = {share:.3f}")


def main() -> None:
    model = load_model()
    for split in MARKS:
        score(model, split)


if __name__ == "__main__":
    main()
