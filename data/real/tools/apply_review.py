"""Apply data/real/review.jsonl to data/real/train.jsonl (idempotent; rerun after rebuilding the corpus).

review.jsonl: a third reader's decision on each real-train label that the reader marking its reasons
(rationales.jsonl) noted as doubtful or thin (brief: REVIEW_BRIEF.md). Each reviewed row gets a "review"
object (the decision, its reason and the note that prompted it); a changed label becomes the row's label,
marked "unsure" (as an adjudicated disagreement is). Reviewed ids must be real-train texts: dev and test are
never relabelled here.
"""
import json
from pathlib import Path

REAL = Path(__file__).resolve().parent.parent


def main() -> None:
    review = {}
    for line in (REAL / "review.jsonl").open(encoding="utf-8"):
        d = json.loads(line)
        review[d["id"]] = d
    rows = [json.loads(line) for line in (REAL / "train.jsonl").open(encoding="utf-8")]
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
        raise SystemExit(f"reviewed ids not in real-train: {sorted(missing)[:5]}")
    with (REAL / "train.jsonl").open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{seen} reviewed rows, {changed} labels changed")


if __name__ == "__main__":
    main()
