"""Evidence precision on real text: of the phrases the model shows, the share inside the words a second
reader marked as justifying the label, on the real-dev texts whose label is pitch-first or needs-first:
data/real/evidence_marks.jsonl (100 texts marked for this) and, for the others, the marks made when dev's
labels were reviewed (data/real/labels/review_dev_marks.jsonl). A text the review turned to no_signal is
left out (its marks justified a label it no longer has). A phrase counts when at least half of its
characters are marked.

    .venv/bin/python tests/bench/bench_evidence.py
"""

from __future__ import annotations

import json
from pathlib import Path

from vocml.bundle import load_model

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    dev = {r["id"]: r for r in map(json.loads, (ROOT / "data/real/dev.jsonl").read_text().splitlines())}
    by_id: dict[str, dict] = {}
    for name in ("data/real/labels/review_dev_marks.jsonl", "data/real/evidence_marks.jsonl"):  # the latter wins
        for line in (ROOT / name).read_text().splitlines():
            mark = json.loads(line)
            if dev[mark["id"]]["label"] != "no_signal":
                by_id[mark["id"]] = mark
    marks = sorted(by_id.values(), key=lambda m: m["id"])
    texts = {key: row["text"] for key, row in dev.items()}
    model = load_model()
    predictions = model.classify([texts[m["id"]] for m in marks])
    shown = inside = shown_right = inside_right = right = 0
    for mark, pred in zip(marks, predictions, strict=True):
        text = texts[mark["id"]]
        covered: set[int] = set()
        for phrase in mark["spans"]:
            start = text.find(phrase)
            if start >= 0:
                covered.update(range(start, start + len(phrase)))
        ok_label = pred.label == dev[mark["id"]]["label"]
        right += ok_label
        for ev in pred.evidence:
            ok = len(covered.intersection(range(ev.start, ev.end))) * 2 >= ev.end - ev.start
            shown += 1
            inside += ok
            shown_right += ok_label
            inside_right += ok and ok_label
    print(f"{len(marks)} texts, {sum(len(m['spans']) for m in marks)} marked phrases; model label right on {right}")
    print(f"evidence precision: {inside}/{shown} = {inside / shown:.3f} of all shown phrases")
    print(
        f"  on texts the model labelled right: {inside_right}/{shown_right} = {inside_right / max(shown_right, 1):.3f}"
    )


if __name__ == "__main__":
    main()
