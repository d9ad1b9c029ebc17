"""Apply the reviews of doubted labels to data/real/ (idempotent; rerun after rebuilding the corpus).

review.jsonl (real-train), review_dev.jsonl and review_test.jsonl (real-dev and real-test, reviewed the same
way after round 9): a third reader's decision on each label that a reader marking its reasons noted as
doubtful or thin (briefs: RATIONALE_BRIEF.md / REVIEW_BRIEF.md for train, DEV_TEST_REVIEW.md for dev and
test). Each reviewed row gets a "review" object (the decision, its reason and the note that prompted it); a
changed label becomes the row's label, marked "unsure" (as an adjudicated disagreement is). A reviewed id
must be a text of that file's split. A row's "review" from its own labelling round (add_round.py) is kept.

usage: python apply_review.py [SPLIT ...]   (default: train dev test)
"""

import json
import sys
from pathlib import Path

REAL = Path(__file__).resolve().parent.parent
FILES = {"train": "review.jsonl", "dev": "review_dev.jsonl", "test": "review_test.jsonl"}


def apply(split: str) -> None:
    path = REAL / FILES[split]
    if not path.exists():
        return
    review = {}
    for line in path.open(encoding="utf-8"):
        d = json.loads(line)
        review[d["id"]] = d
    rows = [json.loads(line) for line in (REAL / f"{split}.jsonl").open(encoding="utf-8")]
    seen = changed = 0
    for r in rows:
        d = review.get(r["id"])
        if d is None:
            continue
        seen += 1
        r["review"] = {k: d[k] for k in ("label", "sure", "reason", "was", "note")}
        if d["label"] != r["label"]:
            changed += 1
            r["label"] = d["label"]
            r["sure"] = "unsure"
    missing = set(review) - {r["id"] for r in rows}
    if missing:
        raise SystemExit(f"reviewed ids not in real-{split}: {sorted(missing)[:5]}")
    with (REAL / f"{split}.jsonl").open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{split}: {seen} reviewed rows, {changed} labels changed")


if __name__ == "__main__":
    for split in sys.argv[1:] or FILES:
        apply(split)
