"""A round's agreement and its third reading (rounds 11 on).

usage (from the folder holding rounds/, labels/ and reviewRN/, e.g. /work/corpus):
  python review_round.py agree ROUND            Cohen's kappa of the first and second (blind) readers, and each
                                                disagreement with both readers' notes, to adjudicate by the guide
  python review_round.py batches ROUND N        every first label marked unsure (and not adjudicated) into N
                                                batches for third readers (ROUND_REVIEW_BRIEF.md)
  python review_round.py collect ROUND          their decisions -> labels/ROUND-review.jsonl, and the justifying
                                                words of labels changed to a signal -> labels/ROUND-marks.jsonl

Then add_round.py and add_marks.py join the round to data/real/.
"""

import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).parent
LABELS = ("pitch_first", "needs_first", "no_signal")


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open()]


def labelled(round_name: str, kind: str) -> dict[str, dict]:
    """The round's first (kind "A") or second (kind "D") readers' lines by id."""
    return {r["id"]: r for path in sorted(Path("labels").glob(f"{round_name}_{kind}*.jsonl")) for r in read(path)}


def sample(round_name: str) -> dict[str, dict]:
    return {r["id"]: r for r in read(Path("rounds") / round_name / "sample.jsonl")}


def kappa(pairs: list[tuple[str, str]]) -> float:
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[lab] * second[lab] for lab in LABELS) / n / n
    return 1.0 if expected == 1 else (observed - expected) / (1 - expected)


def agree(round_name: str) -> None:
    first, second, texts = labelled(round_name, "A"), labelled(round_name, "D"), sample(round_name)
    pairs = [(first[i]["label"], second[i]["label"]) for i in sorted(second)]
    print(f"{len(first)} read, {len(second)} twice: agree {sum(a == b for a, b in pairs)}, kappa {kappa(pairs):.3f}")
    print(Counter(r["label"] for r in first.values()), Counter(r["sure"] for r in first.values()))
    for i in sorted(second):
        a, d = first[i], second[i]
        if a["label"] != d["label"]:
            print(f"\n### {i} {texts[i]['slug']} first: {a['label']} {a['sure']} {a.get('note', '')}")
            print(f"    second: {d['label']} {d['sure']} {d.get('note', '')}\n{texts[i]['text']}")


def batches(round_name: str, n: int) -> None:
    adjudicated = json.loads((HERE / "adjudicated.json").read_text())
    first, texts = labelled(round_name, "A"), sample(round_name)
    ids = [i for i, r in first.items() if r["sure"] == "unsure" and i not in adjudicated]
    out = Path(f"review{round_name[1:]}")
    out.mkdir(exist_ok=True)
    for b in range(n):
        with (out / f"batch_{b}.jsonl").open("w") as fh:
            for i in ids[b::n]:
                row = {"id": i, "text": texts[i]["text"], "label": first[i]["label"]}
                fh.write(json.dumps({**row, "first_reader_note": first[i].get("note", "")}, ensure_ascii=False) + "\n")
    print(len(ids), "unsure labels in", n, "batches")


def collect(round_name: str) -> None:
    folder = Path(f"review{round_name[1:]}")
    order = [r["id"] for path in sorted(folder.glob("batch_*.jsonl")) for r in read(path)]
    decided = {r["id"]: r for path in sorted(folder.glob("decisions_*.jsonl")) for r in read(path)}
    if sorted(order) != sorted(decided):
        raise SystemExit(f"{len(order)} texts in the batches, {len(decided)} decided: every id needs one decision")
    first, texts = labelled(round_name, "A"), sample(round_name)
    changed: Counter = Counter()
    with (
        (Path("labels") / f"{round_name}-review.jsonl").open("w") as review,
        (Path("labels") / f"{round_name}-marks.jsonl").open("w") as marks,
    ):
        for i in order:
            d = decided[i]
            if d["label"] not in LABELS or d["sure"] not in ("sure", "unsure"):
                raise SystemExit(f"{i}: label {d['label']!r} / sure {d['sure']!r} is not one the brief allows")
            spans = [s for s in d.get("spans") or [] if s in texts[i]["text"]]
            row = {"id": i, "label": d["label"], "sure": d["sure"], "reason": d["reason"], "spans": spans}
            review.write(json.dumps(row, ensure_ascii=False) + "\n")
            if d["label"] != first[i]["label"]:
                changed[(first[i]["label"], d["label"])] += 1
                if d["label"] != "no_signal":
                    if not spans:
                        raise SystemExit(f"{i}: changed to {d['label']} with no justifying words found in its text")
                    mark = {"id": i, "label": d["label"], "spans": spans, "note": d["reason"][:120]}
                    marks.write(json.dumps(mark, ensure_ascii=False) + "\n")
    print(round_name, len(order), "decided,", sum(changed.values()), "changed:", dict(changed))


if __name__ == "__main__":
    command, round_name = sys.argv[1], sys.argv[2]
    if command == "agree":
        agree(round_name)
    elif command == "batches":
        batches(round_name, int(sys.argv[3]))
    elif command == "collect":
        collect(round_name)
    else:
        raise SystemExit(__doc__)
