"""Split a round's sample into labelling batches (id + text only) and double-labelling batches.

usage: python make_batches.py ROUND N_BATCHES N_DOUBLE_BATCHES DOUBLE_SIZE
Every text goes to one A batch; a stratified random subset (by source) also goes to D batches,
read by other readers, blind.
"""
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
round_name, n_batches, n_double, double_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = [json.loads(l) for l in (HERE / "rounds" / round_name / "sample.jsonl").open()]
rng = random.Random(round_name)
rng.shuffle(rows)
out = HERE / "batches"
out.mkdir(exist_ok=True)
for b in range(n_batches):
    part = rows[b::n_batches]
    with (out / f"{round_name}_A{b:02d}.jsonl").open("w") as fh:
        for r in part:
            fh.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
# double: stratified by source, proportional
by_slug = defaultdict(list)
for r in rows:
    by_slug[r["slug"]].append(r)
total = n_double * double_size
picked = []
for slug, items in by_slug.items():
    k = round(total * len(items) / len(rows))
    picked += rng.sample(items, min(k, len(items)))
rng.shuffle(picked)
picked = picked[:total]
for b in range(n_double):
    part = picked[b::n_double]
    with (out / f"{round_name}_D{b:02d}.jsonl").open("w") as fh:
        for r in part:
            fh.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
print(len(rows), "texts in", n_batches, "A batches;", len(picked), "double in", n_double, "D batches")
