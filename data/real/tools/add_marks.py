"""Add a round's justifying words to data/real/rationales.jsonl (round 9 on, readers mark them as they label).

usage: python add_marks.py ROUND CORPUS_DIR   (after add_round.py; CORPUS_DIR holds labels/ROUND_*.jsonl)

Every pitch-first or needs-first text of the round that joined real-train gets the spans of a reader whose
label is the row's final label (the first reader's, else the second's); a span must occur verbatim in the
text. Dev rows get none (training alone reads marks). Idempotent: ids already in the file are left alone.
"""

import json
import sys
from pathlib import Path

REAL = Path(__file__).parent.parent


def main(round_name: str, corpus: Path) -> None:
    readers: dict[str, list[tuple[str, dict]]] = {}
    # A batches sort before D; then marks given for labels a round's review changed (ROUND-marks.jsonl)
    paths = sorted((corpus / "labels").glob(f"{round_name}_*.jsonl")) + [
        corpus / "labels" / f"{round_name}-marks.jsonl"
    ]
    for path in (p for p in paths if p.exists()):
        for line in path.open():
            row = json.loads(line)
            readers.setdefault(row["id"], []).append((path.stem, row))
    marks_path = REAL / "rationales.jsonl"
    have = {json.loads(line)["id"] for line in marks_path.open()}
    added, missing = [], []
    for line in (REAL / "train.jsonl").open():
        row = json.loads(line)
        if row["id"] not in readers or row["id"] in have or row["label"] == "no_signal":
            continue
        for batch, lab in readers[row["id"]]:
            spans = [s for s in lab.get("spans") or [] if s.strip() and s in row["text"]]
            if lab["label"] == row["label"] and spans:
                added.append({"id": row["id"], "spans": spans, "note": lab.get("note", ""), "batch": batch})
                break
        else:
            missing.append(row["id"])
    if missing:
        raise SystemExit(f"no reader's verbatim spans for {len(missing)} signal texts: {missing}")
    with marks_path.open("a") as fh:
        for m in added:
            fh.write(json.dumps(m, ensure_ascii=False) + "\n")
    print("marks added:", len(added))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
