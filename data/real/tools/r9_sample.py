"""Round 9 draw: per source, the unread texts the shipped model (0.7.0) ranks most likely to say something
about the selling approach ('model_ranked': what the word lists miss), plus texts matching the strict
sales-word list among the rest ('enriched'). Eligibility as sample.py (never read, <= 2,500 characters,
group not in test). The model only chooses what to read; readers see the text alone.
It draws from the corpus as it stood before round 9 (run it at commit ecd9d0c: once the round's texts are
in data/real/ they are no longer eligible and a rerun draws others)."""

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from sample import MAX_CHARS, STRONG, stable_id  # noqa: E402

from vocml.bundle import load_model  # noqa: E402

QUOTAS = {
    "yelp_fl_gyms": (420, 0),
    "uk_energy_suppliers_reviewsio": (200, 0),
    "puregym_trustpilot": (160, 0),
    "fanatics_ecommerce_reviews": (100, 30),
    "sg_gym_google_reviews": (60, 0),
}
HERE = Path(__file__).parent
REAL = HERE.parent  # the model that ranked: 0.7.0, from the git history (git show 1035908:models/0.7.0/...)
taken, test_groups, licence = set(), set(), {}
for split in ("train", "dev", "test"):
    for l in open(REAL / f"{split}.jsonl"):
        r = json.loads(l)
        taken.add(r["id"])
        licence[r["provenance"]["dataset"]] = r["licence"]
        if split == "test":
            test_groups.add(r["group"])
for lab in (REAL / "labels").glob("*.jsonl"):
    taken |= {json.loads(l)["id"] for l in lab.open()}
model = load_model(REAL.parent.parent / "models" / "0.7.0")
no_sig = list(model.labels).index("no_signal")
out = []
for slug, (n_model, n_kw) in QUOTAS.items():
    eligible, seen = [], set()
    for row in map(json.loads, open(HERE / "pool" / f"{slug}.jsonl")):
        key = " ".join(row["text"].lower().split())
        rid = stable_id(slug, row["path"], row["locator"])
        per_review_group = f"{slug}:{row['path']}:{json.dumps(row['locator'], sort_keys=True)}"
        if (
            len(row["text"]) > MAX_CHARS
            or key in seen
            or rid in taken
            or f"{slug}:{row['group']}" in test_groups
            or per_review_group in test_groups
        ):
            continue
        seen.add(key)
        eligible.append((rid, row))
    p = model.predict_proba([r["text"] for _, r in eligible])
    signal = 1 - p[:, no_sig]
    order = sorted(range(len(eligible)), key=lambda i: -signal[i])
    top = order[:n_model]
    rest = [i for i in order[n_model:] if STRONG.search(eligible[i][1]["text"])]
    random.Random(f"r9:{slug}").shuffle(rest)
    kw = rest[:n_kw]
    for how, part in (("model_ranked", top), ("enriched", kw)):
        for i in part:
            rid, row = eligible[i]
            out.append({"id": rid, "slug": slug, "sampling": how, **row, "licence": licence[slug]})
    print(
        slug,
        "eligible",
        len(eligible),
        "model",
        len(top),
        f"(signal >= {signal[top[-1]]:.2f})",
        "kw",
        len(kw),
        "of",
        len(rest),
    )
(HERE / "rounds" / "r9").mkdir(parents=True, exist_ok=True)
with (HERE / "rounds" / "r9" / "sample.jsonl").open("w") as fh:
    for r in out:
        fh.write(json.dumps(r, ensure_ascii=False) + "\n")
print("total", len(out))
